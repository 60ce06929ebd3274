package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.lora.AdapterNetwork;
import org.lorascripts.lora.LycorisAdapter;
import org.lorascripts.lora.LycorisNetwork;
import org.lorascripts.models.sd.load.TinySdBuiltin;
import org.lorascripts.train.TrainingException;

/**
 * network_type loha / lokr on tiny-sd and tiny-sdxl (CPU): the loss falls, the export is a LyCORIS file in kohya's
 * names whose every key WebUI's module types accept and WebUI's name rules map onto the single-file checkpoint,
 * with lycoris.kohya metadata; network_weights continues from it; the wrong type is refused.
 */
class SdLycorisTrainingTest {
    @TempDir Path dir;

    private Map<String, Object> settings(String type, String family, Path data, String out) {
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve(out));
        cfg.put("base_model", "builtin:" + family);
        cfg.put("network_type", type);
        cfg.put("conv_rank", 2);
        cfg.put("conv_alpha", 1);
        cfg.put("train_text_encoder", true);
        return cfg;
    }

    @ParameterizedTest(name = "{0} on {1}")
    @CsvSource({"loha, tiny-sd", "lokr, tiny-sd", "loha, tiny-sdxl", "lokr, tiny-sdxl"})
    void trainsAndExportsAFileWebUiLoads(String type, String family) throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 4);
        Path file = dir.resolve(type + ".safetensors");
        boolean xl = family.equals("tiny-sdxl");
        double trained;
        int modules;
        try (SdLoraTask task = SdTrainingFixture.task(settings(type, family, data, "out"))) {
            AdapterNetwork unet = task.unetNetwork();
            assertTrue(unet instanceof LycorisNetwork n && n.algo().algo().equals(type), "a " + type + " network");
            modules = unet.size() + task.textEncoderNetwork().size() + (xl ? task.textEncoder2Network().size() : 0);
            double before = SdLoraTrainingTest.fixedNoiseLoss(task, 99);
            SdLoraTrainingTest.train(task, 12, 1e-2);
            trained = SdLoraTrainingTest.fixedNoiseLoss(task, 99);
            System.out.printf("%s on %s, 4 images, 12 steps: loss %.4f -> %.4f%n", type, family, before, trained);
            assertTrue(trained < 0.97 * before, "loss " + before + " -> " + trained);
            task.exportAdapter(file, Map.of("training_step", "12"));
        }
        Set<String> keys;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            keys = new TreeSet<>(f.names());
            assertEquals("lycoris.kohya", f.metadata().get("ss_network_module"));
            JsonNode args = Json.parse(f.metadata().get("ss_network_args"));
            assertEquals(type, args.get("algo").asText());
            assertEquals("2", args.get("conv_dim").asText());
            assertEquals("4", f.metadata().get("ss_network_dim"));
            assertEquals(xl ? "sdxl_base_v1-0" : "sd_v1", f.metadata().get("ss_base_model_version"));
        }
        String suffix = type.equals("loha") ? ".hada_" : ".lokr_";
        for (String k : keys) assertTrue(k.contains(suffix) || k.endsWith(".alpha"), k);
        for (String p : xl ? List.of("lora_unet_", "lora_te1_", "lora_te2_") : List.of("lora_unet_", "lora_te_")) {
            assertTrue(keys.stream().anyMatch(k -> k.startsWith(p)), "has " + p + " keys");
        }
        List<String> problems = new ArrayList<>();
        Set<String> accepted = WebUiLoraRules.acceptedModules(keys, problems);
        assertEquals(List.of(), problems, "modules WebUI's LoRA / LoHa / LoKr types would not accept");
        assertEquals(modules, accepted.size(), "one module per adapter");
        // the module names are kohya's: those of a plain LoRA (LoCon) of the same config
        Map<String, Object> plainCfg = settings("lora", family, data, "plain");
        Path plain = dir.resolve("plain.safetensors");
        try (SdLoraTask task = SdTrainingFixture.task(plainCfg)) {
            task.exportAdapter(plain, Map.of());
        }
        Set<String> plainModules = new TreeSet<>();
        try (SafetensorsFile f = SafetensorsFile.open(plain)) {
            for (String k : f.names()) plainModules.add(k.substring(0, k.indexOf('.')));
        }
        assertEquals(plainModules, accepted, "the same kohya module names as a LoCon of the same config");
        if (xl) {
            // WebUI's SDXL name rules over the built-in single file (tiny-sd's block layout is not SD 1.5's, so
            // WebUI's diffusers-to-LDM numbering only fits the SDXL model)
            Set<String> params = new TreeSet<>();
            try (SafetensorsFile base = SafetensorsFile.open(TinySdBuiltin.SDXL.ensureCached())) {
                params.addAll(base.names());
            }
            WebUiLoraRules.Result mapped = WebUiLoraRules.resolve(accepted, params, false);
            assertEquals(0, mapped.ignored().size(), () -> "keys WebUI would ignore, e.g. " + mapped.ignored().getFirst());
            assertEquals(accepted.size(), mapped.targets().size());
        }

        // network_weights: another seed, the file's tensors: the same loss
        Map<String, Object> cfg = settings(type, family, data, "out2");
        cfg.put("network_weights", file.toString());
        cfg.put("seed", 777);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            assertEquals(trained, SdLoraTrainingTest.fixedNoiseLoss(task, 99), 1e-5, "continued from the file");
        }
        cfg.remove("network_weights");
        try (SdLoraTask fresh = SdTrainingFixture.task(cfg)) {
            assertNotEquals(trained, SdLoraTrainingTest.fixedNoiseLoss(fresh, 99), 1e-5, "without the file the loss differs");
        }
    }

    @Test void networkWeightsOfAnotherTypeOrShapeIsRefusedClearly() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 2);
        Path loha = dir.resolve("loha.safetensors");
        try (SdLoraTask task = SdTrainingFixture.task(settings("loha", "tiny-sd", data, "a"))) {
            task.exportAdapter(loha, Map.of());
        }
        Map<String, Object> lokr = settings("lokr", "tiny-sd", data, "b");
        lokr.put("network_weights", loha.toString());
        var e = assertThrows(TrainingException.class, () -> SdTrainingFixture.task(lokr).close());
        assertTrue(e.getMessage().contains("is a loha file but network_type is lokr; set network_type: loha"), e.getMessage());

        Map<String, Object> plain = settings("lora", "tiny-sd", data, "c");
        plain.put("network_weights", loha.toString());
        e = assertThrows(TrainingException.class, () -> SdTrainingFixture.task(plain).close());
        assertTrue(e.getMessage().contains("LyCORIS LoHa/LoKr file; set network_type: loha"), e.getMessage());

        Map<String, Object> rank = settings("loha", "tiny-sd", data, "d");
        rank.put("lora_rank", 8);
        rank.put("network_weights", loha.toString());
        e = assertThrows(TrainingException.class, () -> SdTrainingFixture.task(rank).close());
        assertTrue(e.getMessage().contains("hada_w1_a[") && e.getMessage().contains("set lora_rank / conv_rank"), e.getMessage());
    }

    @Test void lokrFactorAndDecomposeBothShapeTheModules() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 2);
        Map<String, Object> cfg = settings("lokr", "tiny-sd", data, "out");
        cfg.remove("network_type");
        cfg.put("network_module", "lycoris.kohya");
        cfg.put("network_args", List.of("algo=lokr", "factor=4", "decompose_both=True"));
        cfg.put("lora_rank", 1);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            LycorisNetwork n = (LycorisNetwork) task.unetNetwork();
            assertEquals(LycorisAdapter.Algo.LOKR, n.algo());
            for (var e : n.adapters().entrySet()) {
                LycorisAdapter a = e.getValue();
                long[] ws = a.weightShape();
                if (ws.length == 4 && ws[2] > 1) continue;
                long[] o = LycorisAdapter.factorization(ws[0], 4), i = LycorisAdapter.factorization(ws[1], 4);
                Map<String, ?> t = a.tensors();
                long w1Rows = t.containsKey("lokr_w1") ? a.tensors().get("lokr_w1").size(0) : a.tensors().get("lokr_w1_a").size(0);
                assertEquals(o[0], w1Rows, e.getKey());
                assertEquals(Math.max(o[0], i[0]) > 2, t.containsKey("lokr_w1_a"), e.getKey() + ": decompose_both when rank < max(a, c)/2");
            }
        }
    }
}
