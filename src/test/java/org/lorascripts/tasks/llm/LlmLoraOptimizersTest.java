package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.train.Resume;
import org.lorascripts.train.TrainingResult;

/** Each optimizer through the training loop, checkpoint and resume; LoRA+ rate scales. */
class LlmLoraOptimizersTest {
    @TempDir Path dir;

    @Test void loraPlusTrainsUpMatricesAtTheRatioTimesTheDownRate() throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        LlmLoraFixture f = new LlmLoraFixture(dir.resolve("plus"), data).set("loraplus_lr_ratio", 16);
        try (LlmLoraTask task = f.task()) {
            List<NamedParam> ps = task.trainableParameters();
            int up = 0;
            for (NamedParam p : ps) {
                if (p.name().endsWith(".lora_up.weight")) {
                    up++;
                    assertEquals(16.0, p.lrScale(), p.name());
                } else {
                    assertTrue(p.name().endsWith(".lora_down.weight"), p.name());
                    assertEquals(1.0, p.lrScale(), p.name());
                }
            }
            assertEquals(ps.size() / 2, up);
        }
        try (LlmLoraTask task = new LlmLoraFixture(dir.resolve("plain"), data).task()) {
            for (NamedParam p : task.trainableParameters()) assertEquals(1.0, p.lrScale(), "no LoRA+ by default: " + p.name());
        }
    }

    @Test void everyOptimizerTrainsAndResumesToTheSameWeights() throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        for (String opt : List.of("Lion", "sgd_nesterov", "adafactor", "prodigy")) {
            double lr = switch (opt) { case "prodigy" -> 1.0; case "Lion" -> 3e-4; default -> 3e-3; };
            LlmLoraFixture whole = new LlmLoraFixture(dir.resolve(opt + "-whole"), data).set("optimizer", opt)
                    .set("learning_rate", lr).set("max_steps", 6).set("loraplus_lr_ratio", 4);
            double[] wholeWeights;
            try (LlmLoraTask task = whole.task()) {
                TrainingResult r = whole.run(task);
                assertEquals(6, r.steps(), opt);
                assertTrue(Double.isFinite(r.lastLoss()), opt);
                wholeWeights = LlmLoraFixture.weights(task);
            }
            LlmLoraFixture split = new LlmLoraFixture(dir.resolve(opt + "-split"), data).set("optimizer", opt)
                    .set("learning_rate", lr).set("max_steps", 6).set("loraplus_lr_ratio", 4);
            split.stopAtStep = 3;
            try (LlmLoraTask task = split.task()) {
                assertEquals(3, split.run(task).steps(), opt);
            }
            double[] splitWeights;
            try (LlmLoraTask task = split.task()) {
                assertEquals(6, split.run(task, new Resume.Latest()).steps(), opt);
                splitWeights = LlmLoraFixture.weights(task);
            }
            assertArrayEquals(wholeWeights, splitWeights, 1e-6, opt + ": resumed run ends on the uninterrupted weights");
            for (int i = 0; i < 6; i++) assertEquals(whole.steps.get(i)[1], split.steps.get(i)[1], 1e-6, opt + " loss of step " + (i + 1));
        }
    }

    @Test void resumingWithAnotherOptimizerIsRefusedByName() throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        LlmLoraFixture lion = new LlmLoraFixture(dir.resolve("switch"), data).set("optimizer", "lion").set("max_steps", 4);
        lion.stopAtStep = 2;
        try (LlmLoraTask task = lion.task()) {
            assertEquals(2, lion.run(task).steps());
        }
        LlmLoraFixture adamw = new LlmLoraFixture(dir.resolve("switch"), data).set("max_steps", 4);
        try (LlmLoraTask task = adamw.task()) {
            Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> adamw.run(task, new Resume.Latest()));
            assertTrue(e.getMessage().contains("optimizer was lion") && e.getMessage().contains("adamw now"), e.getMessage());
        }
    }
}
