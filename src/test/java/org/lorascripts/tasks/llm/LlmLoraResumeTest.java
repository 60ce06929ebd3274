package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.train.Resume;
import org.lorascripts.train.TrainingResult;

/** Stopping after 10 steps and resuming gives exactly the 20-step run (LoRA dropout draws from torch's RNG). */
class LlmLoraResumeTest {
    @TempDir Path dir;

    private LlmLoraFixture fixture(Path data, String name, boolean dora) {
        return new LlmLoraFixture(dir.resolve(name), data).set("max_steps", 20).set("lora_dropout", 0.2)
                .set("learning_rate", 3e-3).set("val_ratio", 0.25).set("eval_steps", 5).set("use_dora", dora);
    }

    /** With use_dora the magnitude vectors and their optimizer state go through the checkpoint too. */
    @ParameterizedTest(name = "use_dora {0}")
    @ValueSource(booleans = {false, true})
    void twentyStepsEqualTenPlusResumePlusTen(boolean dora) throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        LlmLoraFixture whole = fixture(data, "whole", dora);
        double[] wholeWeights;
        try (LlmLoraTask task = whole.task()) {
            assertEquals(20, whole.run(task).steps());
            wholeWeights = LlmLoraFixture.weights(task);
        }

        LlmLoraFixture split = fixture(data, "split", dora);
        split.stopAtStep = 10;
        try (LlmLoraTask task = split.task()) {
            TrainingResult first = split.run(task);
            assertTrue(first.interrupted());
            assertEquals(10, first.steps());
        }
        assertTrue(Files.isRegularFile(dir.resolve("split/checkpoints/step-10/split/adapter_config.json")), "the checkpoint holds the PEFT folder, named after output_dir");
        double[] splitWeights;
        try (LlmLoraTask task = split.task()) {
            assertEquals(20, split.run(task, new Resume.Latest()).steps());
            splitWeights = LlmLoraFixture.weights(task);
        }
        assertEquals(20, split.steps.size());
        for (int i = 0; i < 20; i++) {
            assertEquals(whole.steps.get(i)[0], split.steps.get(i)[0], "step number");
            assertEquals(whole.steps.get(i)[1], split.steps.get(i)[1], 1e-6, "loss of step " + (i + 1));
        }
        assertEquals(whole.vals.size(), split.vals.size());
        for (int i = 0; i < whole.vals.size(); i++) assertArrayEquals(whole.vals.get(i), split.vals.get(i), 1e-6);
        assertArrayEquals(wholeWeights, splitWeights, 1e-6);
        assertEquals(20, Arrays.stream(split.losses()).distinct().count(), "every step differs, so equality is not an accident");
    }
}
