package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.CudaGraph;
import org.lorascripts.tensor.Device;
import org.lorascripts.train.Resume;

/**
 * CUDA only: builtin:tiny-llama trained with cuda_graphs on and off from the same seed takes the same
 * steps (plain batches of different lengths padded for the graphs, and packed batches). Skipped without a GPU.
 */
class LlmGraphedTrainingCudaTest {
    @TempDir Path dir;

    private record Outcome(double[] losses, double[] weights, String console) {}

    private Outcome train(Path data, String name, boolean graphs, String precision, boolean packing) throws Exception {
        LlmLoraFixture f = new LlmLoraFixture(dir.resolve(name), data).set("device", "cuda").set("cuda_graphs", graphs)
                .set("mixed_precision", precision).set("epochs", 4).set("packing", packing).set("max_grad_norm", 0.1);
        try (LlmLoraTask task = f.task()) {
            f.run(task, new Resume.None(), Device.cuda(0));
            return new Outcome(f.losses(), LlmLoraFixture.weights(task), f.console());
        }
    }

    private void compare(String precision, boolean packing, double tol) throws Exception {
        assumeTrue(CudaGraph.isAvailable(), "no CUDA graphs here");
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        String tag = precision + (packing ? "-packed" : "");
        Outcome plain = train(data, "plain-" + tag, false, precision, packing);
        Outcome graphed = train(data, "graphed-" + tag, true, precision, packing);
        assertTrue(!graphed.console().contains("cuda_graphs: off"), graphed.console());
        assertEquals(plain.losses().length, graphed.losses().length);
        for (int i = 0; i < plain.losses().length; i++) {
            assertEquals(plain.losses()[i], graphed.losses()[i], tol * Math.abs(plain.losses()[i]), "step " + (i + 1));
        }
        double max = 0, diff = 0;
        for (int i = 0; i < plain.weights().length; i++) {
            max = Math.max(max, Math.abs(plain.weights()[i]));
            diff = Math.max(diff, Math.abs(plain.weights()[i] - graphed.weights()[i]));
        }
        assertTrue(diff <= tol * max, "LoRA differs by " + diff + " (max |w| " + max + ")");
    }

    @Test
    void fp32StepsMatch() throws Exception { compare("no", false, 1e-3); }

    @Test
    void bf16PackedStepsMatch() throws Exception { compare("bf16", true, 3e-2); }
}
