package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * The CUDA-graph form of the loss (device inputs padded to a multiple of 128 positions, then the loss from
 * them) against the plain lossSum: the same value and the same gradients, plain and packed batches.
 */
class LlmStepInputsTest {
    @TempDir Path dir;

    private void check(LlmLoraFixture f, int[] batch) {
        try (LlmLoraTask task = f.task(DType.F64)) {
            double plain, graphed;
            double[] gPlain, gGraphed;
            try (Scope s = Scope.open()) {
                Tensor l = task.lossSum(batch, false);
                l.backward();
                plain = l.item();
                gPlain = grads(task);
            }
            try (Scope s = Scope.open()) {
                List<Tensor> in = task.stepInputs(batch);
                long t = in.get(0).size(1);
                assertEquals(LlmLoraTask.graphLength(t), t, "padded to a graph length");
                assertTrue(in.get(0).size(1) > 0);
                Tensor l = task.lossSumFromInputs(in);
                l.backward();
                graphed = l.item();
                gGraphed = grads(task);
            }
            assertEquals(plain, graphed, 1e-9 * Math.abs(plain));
            double max = 0;
            for (double g : gPlain) max = Math.max(max, Math.abs(g));
            for (int i = 0; i < gPlain.length; i++) assertEquals(gPlain[i] * 2, gGraphed[i], 1e-9 * max, "grad " + i);   // accumulated twice
        }
    }

    private static double[] grads(LlmLoraTask task) {
        List<Double> all = new java.util.ArrayList<>();
        for (var p : task.trainableParameters()) {
            Tensor g = p.tensor().grad();
            for (double d : g == null ? new double[(int) p.tensor().numel()] : g.toDoubleArray()) all.add(d);
        }
        return all.stream().mapToDouble(Double::doubleValue).toArray();
    }

    @Test
    void graphLengthsArePowersOfTwoThenMultiplesOf128() {
        assertEquals(16, LlmLoraTask.graphLength(1));
        assertEquals(16, LlmLoraTask.graphLength(16));
        assertEquals(32, LlmLoraTask.graphLength(17));
        assertEquals(128, LlmLoraTask.graphLength(100));
        assertEquals(128, LlmLoraTask.graphLength(128));
        assertEquals(256, LlmLoraTask.graphLength(129));
        assertEquals(2048, LlmLoraTask.graphLength(2000));
    }

    @Test
    void paddedInputsGiveThePlainLossAndGradients() throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        check(new LlmLoraFixture(dir.resolve("out"), data), new int[] {0, 3, 6});
    }

    @Test
    void packedInputsGiveThePlainLossAndGradients() throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        check(new LlmLoraFixture(dir.resolve("out"), data).set("packing", true).set("max_seq_len", 48), new int[] {0, 1});
    }
}
