package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.nn.NamedParam;

/** LoRA+ on the SD task: up matrices at loraplus_lr_ratio times their down matrices' rate, per network. */
class SdLoraPlusTest {
    @TempDir Path dir;

    @Test void upMatricesTrainAtTheRatioTimesTheDownRateOfTheirNetwork() throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 2), dir.resolve("out"));
        cfg.put("train_text_encoder", true);
        cfg.put("text_encoder_lr", 1e-3);
        cfg.put("loraplus_lr_ratio", 16);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            double lr = task.config().optimizer().learningRate();
            List<NamedParam> ps = task.trainableParameters();
            int up = 0;
            for (NamedParam p : ps) {
                double down = p.name().startsWith("te.") ? 1e-3 / lr : 1.0;
                if (p.name().endsWith(".lora_up.weight")) {
                    up++;
                    assertEquals(16 * down, p.lrScale(), 1e-12, p.name());
                } else {
                    assertTrue(p.name().endsWith(".lora_down.weight"), p.name());
                    assertEquals(down, p.lrScale(), 1e-12, p.name());
                }
            }
            assertEquals(ps.size() / 2, up);
            assertTrue(ps.stream().anyMatch(p -> p.name().startsWith("te.")) && ps.stream().anyMatch(p -> p.name().startsWith("unet.")));
        }
    }

    /**
     * kohya's network_args loraplus_unet_lr_ratio / loraplus_text_encoder_lr_ratio replace loraplus_lr_ratio for
     * their part (networks/lora.py: {@code loraplus_unet_lr_ratio or loraplus_lr_ratio}); a part without either
     * trains without LoRA+.
     */
    @Test void perPartRatiosReplaceTheGeneralOne() throws Exception {
        assertRatios(Map.of("loraplus_lr_ratio", 16, "loraplus_unet_lr_ratio", 4), 4, 16);
        assertRatios(Map.of("loraplus_text_encoder_lr_ratio", 8), 1, 8);
        assertRatios(Map.of("loraplus_unet_lr_ratio", 2, "loraplus_text_encoder_lr_ratio", 3, "loraplus_lr_ratio", 16), 2, 3);
    }

    private void assertRatios(Map<String, Object> ratios, double unet, double te) throws Exception {
        Path run = java.nio.file.Files.createTempDirectory(dir, "run");
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(run.resolve("data"), 2), run.resolve("out"));
        cfg.put("train_text_encoder", true);
        cfg.put("text_encoder_lr", 1e-3);
        cfg.putAll(ratios);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            double lr = task.config().optimizer().learningRate();
            int up = 0;
            for (NamedParam p : task.trainableParameters()) {
                boolean isTe = p.name().startsWith("te.");
                double down = isTe ? 1e-3 / lr : 1.0;
                double ratio = p.name().endsWith(".lora_up.weight") ? (isTe ? te : unet) : 1.0;
                if (p.name().endsWith(".lora_up.weight")) up++;
                assertEquals(ratio * down, p.lrScale(), 1e-12, ratios + " " + p.name());
            }
            assertTrue(up > 0);
        }
    }
}
