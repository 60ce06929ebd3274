package org.lorascripts.models.sd.clip;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * SDXL's two text encoders at test size, with the real 49408-token vocabulary (so dims can be
 * inferred as for a real file) and random values everywhere, norms and biases included (so that a
 * swapped or misplaced tensor changes the outputs). TE1: CLIP-L-like, width 64 (1 head), 3 layers;
 * TE2: bigG-like, width 128 (2 heads), 3 layers, a non-square projection 128 → 96 (so a missing
 * transpose cannot pass). Written as a diffusers folder and as an SDXL LDM single file; the LDM
 * names are written here from diffusers' conversion read backwards, independently of ClipTextWeights.
 * Create them inside an open Scope.
 */
public final class TinySdxlText {
    private TinySdxlText() {}

    public static final int VOCAB = 49408, POSITIONS = 77;
    public static final int TE1_WIDTH = 64, TE1_MLP = 96, TE1_LAYERS = 3;
    public static final int TE2_WIDTH = 128, TE2_MLP = 160, TE2_LAYERS = 3, TE2_PROJECTION = 96;

    /** What the loader must infer for TE1 from its tensors (CLIP-L's activation and special ids). */
    public static ClipTextConfig te1Config() {
        return new ClipTextConfig(VOCAB, TE1_WIDTH, TE1_MLP, TE1_LAYERS, 1, POSITIONS, ClipTextConfig.Activation.QUICK_GELU, 1e-5, 49406, 49407, 49407);
    }

    /** The same for TE2 (bigG's exact GELU, legacy EOS rule, pad 0). */
    public static ClipTextConfig te2Config() {
        return new ClipTextConfig(VOCAB, TE2_WIDTH, TE2_MLP, TE2_LAYERS, 2, POSITIONS, ClipTextConfig.Activation.GELU, 1e-5, 49406,
                ClipTextConfig.LEGACY_EOS_ID, 0);
    }

    /** The two encoders' tensors under HF names: index 0 TE1 (CLIPTextModel), 1 TE2 (CLIPTextModelWithProjection). */
    public static List<Map<String, Tensor>> hfTensors(long seed) {
        return List.of(hfTensors(te1Config(), 0, seed), hfTensors(te2Config(), TE2_PROJECTION, seed + 1));
    }

    /** @param projection out-features of text_projection.weight, or 0 for none */
    public static Map<String, Tensor> hfTensors(ClipTextConfig c, int projection, long seed) {
        Rng.manualSeed(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        long d = c.hidden(), f = c.intermediate();
        m.put("text_model.embeddings.token_embedding.weight", Torch.randn(c.vocabSize(), d).mul(0.02));
        m.put("text_model.embeddings.position_embedding.weight", Torch.randn(c.maxPositions(), d).mul(0.02));
        for (int i = 0; i < c.layers(); i++) {
            String l = "text_model.encoder.layers." + i + ".";
            norm(m, l + "layer_norm1", d);
            for (String p : List.of("q", "k", "v", "out")) linear(m, l + "self_attn." + p + "_proj", d, d);
            norm(m, l + "layer_norm2", d);
            linear(m, l + "mlp.fc1", d, f);
            linear(m, l + "mlp.fc2", f, d);
        }
        norm(m, "text_model.final_layer_norm", d);
        if (projection > 0) m.put("text_projection.weight", Torch.randn(projection, d).mul(1 / Math.sqrt(d)));
        return m;
    }

    private static void linear(Map<String, Tensor> m, String name, long in, long out) {
        m.put(name + ".weight", Torch.randn(out, in).mul(1 / Math.sqrt(in)));
        m.put(name + ".bias", Torch.randn(out).mul(0.1));
    }

    private static void norm(Map<String, Tensor> m, String name, long d) {
        m.put(name + ".weight", Torch.randn(d).mul(0.1).add(1));
        m.put(name + ".bias", Torch.randn(d).mul(0.1));
    }

    /**
     * A diffusers SDXL folder's text parts: text_encoder[_2]/ (model.safetensors + config.json as SDXL's,
     * eos_token_id 2 and pad_token_id 1) and tokenizer[_2]/special_tokens_map.json naming the pads SDXL's
     * do (no vocab.json: the bundled merges are the same).
     */
    public static Path writeDiffusers(Path dir, List<Map<String, Tensor>> hf) throws IOException {
        Files.createDirectories(dir.resolve("text_encoder"));
        Files.createDirectories(dir.resolve("text_encoder_2"));
        TensorIO.save(dir.resolve("text_encoder/model.safetensors"), hf.get(0), Map.of("format", "pt"));
        TensorIO.save(dir.resolve("text_encoder_2/model.safetensors"), hf.get(1), Map.of("format", "pt"));
        Files.writeString(dir.resolve("text_encoder/config.json"), configJson("CLIPTextModel", "quick_gelu", TE1_WIDTH, TE1_MLP, 1, TE1_LAYERS, TE1_WIDTH));
        Files.writeString(dir.resolve("text_encoder_2/config.json"),
                configJson("CLIPTextModelWithProjection", "gelu", TE2_WIDTH, TE2_MLP, 2, TE2_LAYERS, TE2_PROJECTION));
        Files.createDirectories(dir.resolve("tokenizer"));
        Files.createDirectories(dir.resolve("tokenizer_2"));
        Files.writeString(dir.resolve("tokenizer/special_tokens_map.json"), specialTokens("<|endoftext|>"));
        Files.writeString(dir.resolve("tokenizer_2/special_tokens_map.json"), specialTokens("!"));
        return dir;
    }

    static String configJson(String architecture, String act, int width, int mlp, int heads, int layers, int projection) {
        return "{\n  \"architectures\": [\"" + architecture + "\"],\n  \"attention_dropout\": 0.0,\n  \"bos_token_id\": 0,\n"
                + "  \"dropout\": 0.0,\n  \"eos_token_id\": 2,\n  \"hidden_act\": \"" + act + "\",\n  \"hidden_size\": " + width + ",\n"
                + "  \"initializer_factor\": 1.0,\n  \"initializer_range\": 0.02,\n  \"intermediate_size\": " + mlp + ",\n"
                + "  \"layer_norm_eps\": 1e-05,\n  \"max_position_embeddings\": " + POSITIONS + ",\n  \"model_type\": \"clip_text_model\",\n"
                + "  \"num_attention_heads\": " + heads + ",\n  \"num_hidden_layers\": " + layers + ",\n  \"pad_token_id\": 1,\n"
                + "  \"projection_dim\": " + projection + ",\n  \"torch_dtype\": \"float32\",\n  \"vocab_size\": " + VOCAB + "\n}\n";
    }

    static String specialTokens(String pad) {
        return "{\n  \"bos_token\": {\"content\": \"<|startoftext|>\", \"lstrip\": false, \"normalized\": true, \"rstrip\": false, \"single_word\": false},\n"
                + "  \"eos_token\": {\"content\": \"<|endoftext|>\", \"lstrip\": false, \"normalized\": true, \"rstrip\": false, \"single_word\": false},\n"
                + "  \"pad_token\": \"" + pad + "\",\n"
                + "  \"unk_token\": {\"content\": \"<|endoftext|>\", \"lstrip\": false, \"normalized\": true, \"rstrip\": false, \"single_word\": false}\n}\n";
    }

    /**
     * The SDXL single-file names: TE1's HF names under {@code conditioner.embedders.0.transformer.} (with
     * the position_ids buffer), TE2 in OpenCLIP names under {@code conditioner.embedders.1.model.}: q, k, v
     * stacked into in_proj, text_projection stored (D, P) as OpenCLIP multiplies with it, logit_scale;
     * one UNet tensor so the file looks like a checkpoint.
     */
    public static Map<String, Tensor> ldmTensors(List<Map<String, Tensor>> hf) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        String p1 = "conditioner.embedders.0.transformer.";
        hf.get(0).forEach((k, v) -> m.put(p1 + k, v));
        m.put(p1 + "text_model.embeddings.position_ids", Torch.arange(POSITIONS).reshape(1, POSITIONS));

        Map<String, Tensor> te2 = hf.get(1);
        String p = "conditioner.embedders.1.model.";
        m.put(p + "token_embedding.weight", te2.get("text_model.embeddings.token_embedding.weight"));
        m.put(p + "positional_embedding", te2.get("text_model.embeddings.position_embedding.weight"));
        for (int i = 0; i < TE2_LAYERS; i++) {
            String l = "text_model.encoder.layers." + i + ".";
            String r = p + "transformer.resblocks." + i + ".";
            for (String kind : List.of("weight", "bias")) {
                m.put(r + "ln_1." + kind, te2.get(l + "layer_norm1." + kind));
                m.put(r + "attn.in_proj_" + kind, Torch.cat(List.of(te2.get(l + "self_attn.q_proj." + kind),
                        te2.get(l + "self_attn.k_proj." + kind), te2.get(l + "self_attn.v_proj." + kind)), 0));
                m.put(r + "attn.out_proj." + kind, te2.get(l + "self_attn.out_proj." + kind));
                m.put(r + "ln_2." + kind, te2.get(l + "layer_norm2." + kind));
                m.put(r + "mlp.c_fc." + kind, te2.get(l + "mlp.fc1." + kind));
                m.put(r + "mlp.c_proj." + kind, te2.get(l + "mlp.fc2." + kind));
            }
        }
        m.put(p + "ln_final.weight", te2.get("text_model.final_layer_norm.weight"));
        m.put(p + "ln_final.bias", te2.get("text_model.final_layer_norm.bias"));
        m.put(p + "text_projection", te2.get("text_projection.weight").transpose(0, 1).contiguous());   // (D, P)
        m.put(p + "logit_scale", Torch.scalar(4.6052));
        m.put("model.diffusion_model.out.2.weight", Torch.zeros(4, 4));
        return m;
    }

    public static Path writeLdm(Path file, List<Map<String, Tensor>> hf) throws IOException {
        TensorIO.save(file, ldmTensors(hf), Map.of("format", "pt"));
        return file;
    }
}
