package org.lorascripts.models.sd.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.MissingWeightException;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** Text encoders stored in LDM single-file layouts load to the same model as the HF layout. */
class ClipTextWeightsTest {
    static final Path FIXTURES = ClipTextModelTest.FIXTURES;

    /** The fixture's tensors under HF names ({@code text_model.*}). */
    private static Map<String, Tensor> hfTensors(SafetensorsFile f) throws Exception {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String n : f.names()) m.put(n.startsWith("text_model.") ? n : "text_model." + n, TensorIO.read(f, n));
        return m;
    }

    private static float[] lastHidden(Path checkpoint, ClipTextConfig cfg, Tensor ids) throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(checkpoint);
             Weights w = new Weights(ClipTextWeights.detect(f, checkpoint.getFileName().toString()), Device.CPU, DType.F32)) {
            return new ClipTextModel(w, cfg).forward(ids).lastHiddenState().toFloatArray();
        }
    }

    private static Map<String, Tensor> renamed(Map<String, Tensor> hf, Function<String, String> rename) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        hf.forEach((k, v) -> m.put(rename.apply(k), v));
        return m;
    }

    @Test
    void sd1SingleFileWithAndWithoutTextModelPrefix(@TempDir Path dir) throws Exception {
        Path fixture = FIXTURES.resolve("clip-sd1");
        ClipTextConfig cfg = ClipTextConfig.fromHfConfig(fixture.resolve("config.json"));
        try (Scope s = Scope.open(); SafetensorsFile model = SafetensorsFile.open(fixture.resolve("model.safetensors"));
             SafetensorsFile expected = SafetensorsFile.open(fixture.resolve("expected.safetensors"))) {
            Tensor ids = TensorIO.read(expected, "input_ids");
            float[] reference = lastHidden(fixture.resolve("model.safetensors"), cfg, ids);
            Map<String, Tensor> hf = hfTensors(model);

            Map<String, Tensor> ldm = renamed(hf, k -> "cond_stage_model.transformer." + k);
            ldm.put("cond_stage_model.transformer.text_model.embeddings.position_ids", Torch.arange(77).reshape(1, 77));
            ldm.put("model.diffusion_model.out.2.weight", Torch.zeros(4, 4));
            TensorIO.save(dir.resolve("sd1.safetensors"), ldm, Map.of());
            assertArrayEquals(reference, lastHidden(dir.resolve("sd1.safetensors"), cfg, ids), 0f);

            Map<String, Tensor> old = renamed(hf, k -> "cond_stage_model.transformer." + k.substring("text_model.".length()));
            TensorIO.save(dir.resolve("sd1-old.safetensors"), old, Map.of());
            assertArrayEquals(reference, lastHidden(dir.resolve("sd1-old.safetensors"), cfg, ids), 0f);

            TensorIO.save(dir.resolve("hf.safetensors"), hf, Map.of());
            assertArrayEquals(reference, lastHidden(dir.resolve("hf.safetensors"), cfg, ids), 0f);
        }
    }

    private static final Pattern LAYER = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\.(.+)");

    /** HF → OpenCLIP names, written independently of ClipTextWeights (diffusers' map read backwards). */
    private static Map<String, Tensor> toOpenClip(Map<String, Tensor> hf, int layers) {
        String p = "cond_stage_model.model.";
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put(p + "token_embedding.weight", hf.get("text_model.embeddings.token_embedding.weight"));
        m.put(p + "positional_embedding", hf.get("text_model.embeddings.position_embedding.weight"));
        m.put(p + "ln_final.weight", hf.get("text_model.final_layer_norm.weight"));
        m.put(p + "ln_final.bias", hf.get("text_model.final_layer_norm.bias"));
        for (int i = 0; i < layers; i++) {
            String l = "text_model.encoder.layers." + i + ".";
            String r = p + "transformer.resblocks." + i + ".";
            for (String kind : List.of("weight", "bias")) {
                m.put(r + "attn.in_proj_" + kind, Torch.cat(List.of(hf.get(l + "self_attn.q_proj." + kind),
                        hf.get(l + "self_attn.k_proj." + kind), hf.get(l + "self_attn.v_proj." + kind)), 0));
                m.put(r + "attn.out_proj." + kind, hf.get(l + "self_attn.out_proj." + kind));
                m.put(r + "ln_1." + kind, hf.get(l + "layer_norm1." + kind));
                m.put(r + "ln_2." + kind, hf.get(l + "layer_norm2." + kind));
                m.put(r + "mlp.c_fc." + kind, hf.get(l + "mlp.fc1." + kind));
                m.put(r + "mlp.c_proj." + kind, hf.get(l + "mlp.fc2." + kind));
            }
        }
        for (String k : hf.keySet()) {
            Matcher mt = LAYER.matcher(k);
            assertTrue(!k.startsWith("text_model.encoder") || (mt.matches() && Integer.parseInt(mt.group(1)) < layers), k);
        }
        return m;
    }

    @Test
    void sd2OpenClipSingleFileSplitsInProj(@TempDir Path dir) throws Exception {
        Path fixture = FIXTURES.resolve("clip-sd2");
        ClipTextConfig cfg = ClipTextConfig.fromHfConfig(fixture.resolve("config.json"));
        try (Scope s = Scope.open(); SafetensorsFile model = SafetensorsFile.open(fixture.resolve("model.safetensors"));
             SafetensorsFile expected = SafetensorsFile.open(fixture.resolve("expected.safetensors"))) {
            Tensor ids = TensorIO.read(expected, "input_ids");
            float[] reference = lastHidden(fixture.resolve("model.safetensors"), cfg, ids);
            Map<String, Tensor> openClip = toOpenClip(hfTensors(model), cfg.layers());
            // SD 2 files hold one more block than diffusers' text encoder uses, and a text projection
            String extra = "cond_stage_model.model.transformer.resblocks." + cfg.layers() + ".";
            openClip.put(extra + "attn.in_proj_weight", Torch.zeros(3 * 32, 32));
            openClip.put(extra + "ln_1.weight", Torch.ones(32));
            openClip.put("cond_stage_model.model.text_projection", Torch.zeros(32, 32));
            openClip.put("model.diffusion_model.out.2.weight", Torch.zeros(4, 4));
            Path f = dir.resolve("sd2.safetensors");
            TensorIO.save(f, openClip, Map.of());
            assertArrayEquals(reference, lastHidden(f, cfg, ids), 0f);

            try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                ClipTextWeights w = ClipTextWeights.detect(sf, "sd2");
                assertEquals("cond_stage_model.model.transformer.resblocks.1.attn.in_proj_weight",
                        w.fileName("text_model.encoder.layers.1.self_attn.k_proj.weight").orElseThrow());
                assertArrayEquals(new long[] {32, 32}, w.shape("text_model.encoder.layers.1.self_attn.k_proj.weight").orElseThrow());
                assertArrayEquals(new long[] {32}, w.shape("text_model.encoder.layers.1.self_attn.v_proj.bias").orElseThrow());
                assertEquals("cond_stage_model.model.transformer.resblocks.0.mlp.c_proj.weight",
                        w.fileName("text_model.encoder.layers.0.mlp.fc2.weight").orElseThrow());
                // a config with more layers than the file: the error names the missing tensor
                try (Weights ws = new Weights(w, Device.CPU, DType.F32)) {
                    MissingWeightException e = assertThrows(MissingWeightException.class, () -> new ClipTextModel(ws, cfg.withLayers(cfg.layers() + 2)));
                    assertTrue(e.getMessage().contains("missing tensor text_model.encoder.layers." + cfg.layers() + ".layer_norm1.bias"), e.getMessage());
                }
            }
        }
    }

    @Test
    void aFileWithoutATextEncoderIsAClearError(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("unet.safetensors");
        try (Scope s = Scope.open()) {
            TensorIO.save(f, Map.of("model.diffusion_model.out.2.weight", Torch.zeros(4, 4)), Map.of());
        }
        try (SafetensorsFile sf = SafetensorsFile.open(f)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClipTextWeights.detect(sf, "unet.safetensors"));
            assertTrue(e.getMessage().startsWith("unet.safetensors: no CLIP text encoder found"), e.getMessage());
        }
    }
}
