package org.lorascripts.models.sd.load;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.models.sd.clip.ClipTextWeights;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.VaeConfig;

/**
 * A deterministic tiny SD 2.x-family checkpoint shaped like stable-diffusion-2-1 (768, v-prediction),
 * for tests. UNet: channels (64, 128) so that SD 2's 64-wide heads give per-block head counts (1, 2)
 * (diffusers' {@code attention_head_dim}), linear proj_in/proj_out, attention upcast, 32 norm groups.
 * VAE: channels (32, 64), 32 norm groups. Text encoder: an OpenCLIP text tower (exact GELU, real
 * 49408-token vocabulary, width 32) with one block more than the 2 that condition the UNet, as SD 2
 * uses the penultimate of OpenCLIP's 24 blocks.
 *
 * <p>The single file carries only the text encoder's config as metadata (no config could be inferred
 * at width 32); UNet and VAE configs are inferred from the tensor shapes as for a real SD 2 file.
 */
public final class TinySd2 {
    private TinySd2() {}

    static final long SEED = 20240602L;
    public static final int TEXT_WIDTH = 32, TEXT_LAYERS = 2, TEXT_MLP = 48, VOCAB = 49408, POSITIONS = 77;

    /** What the loader must infer from the single file (with prediction v_prediction) and read from the folder. */
    public static UNetConfig unetConfig() {
        return new UNetConfig(4, 4, 96, List.of(64, 128), 1, List.of(1, 2), List.of(UNetConfig.CROSS_DOWN, UNetConfig.DOWN),
                List.of(UNetConfig.UP, UNetConfig.CROSS_UP), TEXT_WIDTH, 1, true, 32, 1e-5, true, UNetConfig.Prediction.V_PREDICTION);
    }

    public static VaeConfig vaeConfig() {
        return new VaeConfig(3, 3, 4, List.of(32, 64), 1, 32, 512, VaeConfig.SD_SCALING_FACTOR);
    }

    /** transformers' CLIPTextConfig as stable-diffusion-2-1's text_encoder/config.json spells it (gelu; pad_token_id 1 there too). */
    static String textEncoderConfigJson() {
        return "{\n  \"architectures\": [\"CLIPTextModel\"],\n  \"attention_dropout\": 0.0,\n  \"bos_token_id\": 0,\n  \"eos_token_id\": 2,\n"
                + "  \"hidden_act\": \"gelu\",\n  \"hidden_size\": " + TEXT_WIDTH + ",\n  \"initializer_factor\": 1.0,\n  \"initializer_range\": 0.02,\n"
                + "  \"intermediate_size\": " + TEXT_MLP + ",\n  \"layer_norm_eps\": 1e-05,\n  \"max_position_embeddings\": " + POSITIONS + ",\n"
                + "  \"model_type\": \"clip_text_model\",\n  \"num_attention_heads\": 2,\n  \"num_hidden_layers\": " + TEXT_LAYERS + ",\n"
                + "  \"pad_token_id\": 1,\n  \"projection_dim\": 512,\n  \"vocab_size\": " + VOCAB + "\n}\n";
    }

    /** The LDM single file, text encoder under {@code cond_stage_model.model.} in OpenCLIP names. */
    public static Path writeLdm(Path file) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("text_encoder_config", textEncoderConfigJson());
        meta.put("format", "pt");
        TinySd.writeLdm(file, unetConfig(), vaeConfig(), openClipShapes(), ClipTextWeights.SD2_PREFIX, meta, SEED);
        return file;
    }

    /** The same weights as a diffusers folder (no tokenizer/: the bundled one must pad as SD 2's does). */
    public static Path writeDiffusers(Path ldmFile, Path dir) throws IOException {
        try (SdCheckpoint c = SdCheckpointLoader.open(ldmFile, UNetConfig.Prediction.V_PREDICTION)) {
            TinySd.writeDiffusersFolder(c, dir);
        }
        return dir;
    }

    /** OpenCLIP text-tower names and shapes (after the prefix), one block more than the config uses. */
    static Map<String, long[]> openClipShapes() {
        long d = TEXT_WIDTH;
        Map<String, long[]> m = new LinkedHashMap<>();
        m.put("token_embedding.weight", new long[] {VOCAB, d});
        m.put("positional_embedding", new long[] {POSITIONS, d});
        for (int i = 0; i <= TEXT_LAYERS; i++) {
            String b = "transformer.resblocks." + i + ".";
            m.put(b + "ln_1.weight", new long[] {d});
            m.put(b + "ln_1.bias", new long[] {d});
            m.put(b + "attn.in_proj_weight", new long[] {3 * d, d});
            m.put(b + "attn.in_proj_bias", new long[] {3 * d});
            m.put(b + "attn.out_proj.weight", new long[] {d, d});
            m.put(b + "attn.out_proj.bias", new long[] {d});
            m.put(b + "ln_2.weight", new long[] {d});
            m.put(b + "ln_2.bias", new long[] {d});
            m.put(b + "mlp.c_fc.weight", new long[] {TEXT_MLP, d});
            m.put(b + "mlp.c_fc.bias", new long[] {TEXT_MLP});
            m.put(b + "mlp.c_proj.weight", new long[] {d, TEXT_MLP});
            m.put(b + "mlp.c_proj.bias", new long[] {d});
        }
        m.put("ln_final.weight", new long[] {d});
        m.put("ln_final.bias", new long[] {d});
        m.put("text_projection", new long[] {d, d});
        return m;
    }
}
