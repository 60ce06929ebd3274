package org.lorascripts.models.sd.clip;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.lorascripts.io.Json;
import org.lorascripts.io.JsonFields;

/**
 * Shape of a CLIP text encoder, as HF's {@code CLIPTextConfig}. {@code eosTokenId} picks the pooled
 * position: 2 is the legacy value of the original OpenAI/SD configs, meaning "the largest id in the
 * row" (the real end-of-text token 49407 is the largest id of the vocabulary); any other value means
 * "the first position holding that id". {@code padTokenId} is what the tokenizer pads with: the
 * end-of-text token for SD 1.x, 0 ("!") for SD 2.x's OpenCLIP tokenizer.
 */
public record ClipTextConfig(int vocabSize, int hidden, int intermediate, int layers, int heads, int maxPositions,
                             Activation activation, double eps, int bosTokenId, int eosTokenId, int padTokenId) {

    /** Legacy {@code eos_token_id} of the original configs (pool at the argmax of the ids). */
    public static final int LEGACY_EOS_ID = 2;

    public enum Activation {
        /** x * sigmoid(1.702 x), OpenAI CLIP. */
        QUICK_GELU("quick_gelu"),
        /** Exact (erf) GELU, OpenCLIP. */
        GELU("gelu");

        public final String hfName;

        Activation(String hfName) { this.hfName = hfName; }

        public static Activation parse(String s) {
            for (Activation a : values()) if (a.hfName.equals(s.toLowerCase(Locale.ROOT))) return a;
            throw new IllegalArgumentException("unsupported CLIP hidden_act '" + s + "' (expected quick_gelu or gelu)");
        }
    }

    public ClipTextConfig {
        if (hidden % heads != 0) throw new IllegalArgumentException("hidden_size " + hidden + " is not divisible by num_attention_heads " + heads);
        if (layers < 1) throw new IllegalArgumentException("num_hidden_layers must be >= 1, got " + layers);
    }

    public int headDim() { return hidden / heads; }

    /** SD 1.x: OpenAI CLIP ViT-L/14 text tower. */
    public static ClipTextConfig sd15() {
        return new ClipTextConfig(49408, 768, 3072, 12, 12, 77, Activation.QUICK_GELU, 1e-5, 49406, 49407, 49407);
    }

    /**
     * SD 2.x: OpenCLIP ViT-H/14 text tower with its last block dropped (SD 2 conditions on the
     * penultimate layer; diffusers' SD 2 text_encoder has 23 of the 24 layers).
     */
    public static ClipTextConfig sd2() {
        return new ClipTextConfig(49408, 1024, 4096, 23, 16, 77, Activation.GELU, 1e-5, 49406, 49407, 0);
    }

    /**
     * SDXL's first encoder: OpenAI CLIP ViT-L/14, as SD 1.x's (all 12 layers are stored; SDXL
     * conditions on {@code hidden_states[-2]} without the final norm, see
     * {@link ClipTextModel#penultimateHiddenState}). Pads with the end-of-text token.
     */
    public static ClipTextConfig sdxlClipL() { return sd15(); }

    /**
     * SDXL's second encoder: OpenCLIP ViT-bigG/14 (HF {@code CLIPTextModelWithProjection}, all 32 layers:
     * the penultimate conditions the UNet, the last one gives the pooled embedding). Pooled at the
     * largest id as the legacy {@code eos_token_id} 2 of diffusers' text_encoder_2/config.json and the
     * original sgm code do; pads with id 0 ("!") as its tokenizer_2.
     */
    public static ClipTextConfig sdxlBigG() {
        return new ClipTextConfig(49408, 1280, 5120, 32, 20, 77, Activation.GELU, 1e-5, 49406, LEGACY_EOS_ID, 0);
    }

    /** A copy with another number of layers. */
    public ClipTextConfig withLayers(int n) {
        return new ClipTextConfig(vocabSize, hidden, intermediate, n, heads, maxPositions, activation, eps, bosTokenId, eosTokenId, padTokenId);
    }

    /** A copy padding with another id (the tokenizer's pad token; HF's config.json pad_token_id is not it for SD). */
    public ClipTextConfig withPadTokenId(int id) {
        return new ClipTextConfig(vocabSize, hidden, intermediate, layers, heads, maxPositions, activation, eps, bosTokenId, eosTokenId, id);
    }

    /** Reads an HF {@code config.json} of a CLIPTextModel (or of a CLIPModel, from its {@code text_config}). */
    public static ClipTextConfig fromHfConfig(Path configJson) throws IOException {
        return fromHfConfig(Json.read(configJson), configJson.toString());
    }

    /**
     * The same from parsed JSON (e.g. a config embedded in checkpoint metadata); {@code configJson}
     * names it in errors. Absent keys take the defaults of HF's CLIPTextConfig.
     */
    public static ClipTextConfig fromHfConfig(JsonNode root, String configJson) {
        JsonFields c = JsonFields.of(root, configJson);
        JsonFields text = c.object("text_config");
        if (text != null) c = text;
        String act = c.string("hidden_act", "quick_gelu");
        int vocab = c.integer("vocab_size", 49408), hidden = c.integer("hidden_size", 512), inner = c.integer("intermediate_size", 2048);
        int layers = c.integer("num_hidden_layers", 12), heads = c.integer("num_attention_heads", 8);
        int positions = c.integer("max_position_embeddings", 77);
        double eps = c.number("layer_norm_eps", 1e-5);
        int bos = c.integer("bos_token_id", 49406), eos = c.integer("eos_token_id", 49407), pad = c.integer("pad_token_id", 1);
        try {
            return new ClipTextConfig(vocab, hidden, inner, layers, heads, positions, Activation.parse(act), eps, bos, eos, pad);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
        }
    }
}
