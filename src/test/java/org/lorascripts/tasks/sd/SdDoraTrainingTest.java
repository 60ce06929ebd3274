package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.models.sd.load.TinySdxl;
import org.lorascripts.tensor.DType;
import org.lorascripts.train.TrainingException;

/** use_dora on the tiny SD 1.x and SDXL models: the loss falls, the export is a LyCORIS-style DoRA that WebUI reads, it continues. */
class SdDoraTrainingTest {
    @TempDir Path dir;

    /** Every module has lora_down, lora_up, alpha and a dora_scale (1, in[, 1, 1]) whose in matches lora_down's. */
    static Set<String> checkDoraFile(Path file) throws Exception {
        Set<String> modules = new TreeSet<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of(), WebUiLoraRules.unreadKeys(f.names()), "keys WebUI's LoRA module would not read");
            for (String k : f.names()) modules.add(k.substring(0, k.indexOf('.')));
            for (String m : modules) {
                long[] down = f.info(m + ".lora_down.weight").shape();
                long[] dora = f.info(m + ".dora_scale").shape();
                assertArrayEquals(down.length == 4 ? new long[] {1, down[1], 1, 1} : new long[] {1, down[1]}, dora, m);
            }
            Map<String, String> meta = f.metadata();
            assertEquals("lycoris.kohya", meta.get("ss_network_module"));
            var args = Json.parse(meta.get("ss_network_args"));
            assertEquals("True", args.get("dora_wd").textValue());
            assertEquals("False", args.get("wd_on_output").textValue());
            assertEquals("lora", args.get("algo").textValue());
        }
        return modules;
    }

    @Test void sd1DoraLossFallsAndExportsDoraScaleForEveryModule() throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 4), dir.resolve("out"));
        cfg.put("use_dora", true);
        cfg.put("conv_rank", 8);
        cfg.put("train_text_encoder", true);
        Path adapter = dir.resolve("dora.safetensors");
        double trained;
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            assertTrue(task.trainableParameters().stream().anyMatch(p -> p.name().endsWith(".dora_scale")));
            double before = SdLoraTrainingTest.fixedNoiseLoss(task, 99);
            SdLoraTrainingTest.train(task, 25, 5e-3);
            trained = SdLoraTrainingTest.fixedNoiseLoss(task, 99);
            System.out.printf("tiny-sd DoRA overfit 4 images, 25 steps: loss %.4f -> %.4f%n", before, trained);
            assertTrue(trained < 0.85 * before, "loss " + before + " -> " + trained);
            task.exportAdapter(adapter, Map.of("training_step", "25"));
        }
        Set<String> modules = checkDoraFile(adapter);
        assertTrue(modules.stream().anyMatch(m -> m.startsWith("lora_te_")) && modules.stream().anyMatch(m -> m.endsWith("_conv1")), modules.toString());
        try (SafetensorsFile f = SafetensorsFile.open(adapter)) {
            var args = Json.parse(f.metadata().get("ss_network_args"));
            assertEquals("8", args.get("conv_dim").textValue());
        }

        // continuing: the file's DoRA (magnitudes included) gives the trained loss; a plain-LoRA config refuses it
        cfg.put("network_weights", adapter.toString());
        cfg.put("seed", 777);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            assertEquals(trained, SdLoraTrainingTest.fixedNoiseLoss(task, 99), 1e-6);
        }
        cfg.put("use_dora", false);
        TrainingException e = assertThrows(TrainingException.class, () -> SdTrainingFixture.task(cfg).close());
        assertTrue(e.getMessage().contains("is a DoRA (dora_scale); set use_dora: true to continue it"), e.getMessage());
    }

    @Test void sdxlDoraExportsLdmNamedDoraScaleAndContinues() throws Exception {
        Path model = TinySdxl.writeCompleteLdm(dir.resolve("tiny-sdxl.safetensors"), DType.F32);
        Path data = SdTrainingFixture.images(dir.resolve("data"), 4);
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve("out"));
        cfg.put("base_model", model.toString());
        cfg.put("use_dora", true);
        Path adapter = dir.resolve("xl-dora.safetensors");
        double trained;
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            SdLoraTrainingTest.train(task, 3, 5e-3);
            trained = SdLoraTrainingTest.fixedNoiseLoss(task, 11);
            task.exportAdapter(adapter, Map.of("training_step", "3"));
        }
        Set<String> modules = checkDoraFile(adapter);
        assertTrue(modules.stream().anyMatch(m -> m.contains("input_blocks_")), "LDM numbering: " + modules);
        cfg.put("network_weights", adapter.toString());
        cfg.put("seed", 777);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            assertEquals(trained, SdLoraTrainingTest.fixedNoiseLoss(task, 11), 1e-6);
        }
    }
}
