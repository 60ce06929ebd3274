package org.lorascripts.models.blip;

import java.io.IOException;
import java.nio.file.Path;
import org.lorascripts.io.JsonReader;
import org.lorascripts.io.JsonValue;

/**
 * Shape of a BLIP captioner, as HF's {@code BlipConfig} with its {@code vision_config} and
 * {@code text_config}. Missing keys take HF's defaults (those of Salesforce/blip-image-captioning-base).
 * Reference: https://github.com/huggingface/transformers/blob/main/src/transformers/models/blip/configuration_blip.py
 */
public record BlipConfig(Vision vision, Text text) {

    /** BlipVisionConfig: a ViT with patch size {@code patch}, on {@code imageSize}² inputs. */
    public record Vision(int hidden, int intermediate, int layers, int heads, int imageSize, int patch,
                         Activation activation, double eps) {
        public Vision {
            if (hidden % heads != 0) throw new IllegalArgumentException("vision hidden_size " + hidden + " is not divisible by num_attention_heads " + heads);
            if (imageSize % patch != 0) throw new IllegalArgumentException("vision image_size " + imageSize + " is not a multiple of patch_size " + patch);
        }

        /** Patches plus the class token. */
        public int positions() { return (imageSize / patch) * (imageSize / patch) + 1; }
    }

    /**
     * BlipTextConfig of the decoder (BERT with cross-attention). {@code encoderHidden} is the vision
     * width (BlipConfig sets it so). Generation starts at {@code bosTokenId} ([DEC]) and stops at
     * {@code sepTokenId} ([SEP]); {@code eos_token_id} is not used by BLIP's generate.
     */
    public record Text(int vocabSize, int hidden, int encoderHidden, int intermediate, int layers, int heads,
                       int maxPositions, Activation activation, double eps, int bosTokenId, int sepTokenId, int padTokenId) {
        public Text {
            if (hidden % heads != 0) throw new IllegalArgumentException("text hidden_size " + hidden + " is not divisible by num_attention_heads " + heads);
        }
    }

    /** The activations BLIP configs use: exact (erf) GELU, or its tanh approximation. */
    public enum Activation {
        GELU, GELU_TANH;

        static Activation parse(String s) {
            return switch (s) {
                case "gelu" -> GELU;
                case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
                default -> throw new IllegalArgumentException("unsupported BLIP hidden_act '" + s + "' (expected gelu or gelu_new)");
            };
        }
    }

    /**
     * The tiny configuration of tools/fixtures/make_blip_fixture.py (vision 32 wide, 2 layers, 4 heads,
     * patch 16 on 64² images; text vocabulary 200 with [DEC] = 198, 32 wide, 2 layers, 4 heads).
     */
    public static BlipConfig tiny() {
        return new BlipConfig(new Vision(32, 64, 2, 4, 64, 16, Activation.GELU, 1e-5),
                new Text(TinyBlip.VOCAB_SIZE, 32, 32, 64, 2, 4, 64, Activation.GELU, 1e-12,
                        TinyBlip.DEC_ID, TinyBlip.SEP_ID, TinyBlip.PAD_ID));
    }

    /** Reads {@code config.json} of a BlipForConditionalGeneration folder. */
    public static BlipConfig fromHfConfig(Path configJson) throws IOException {
        JsonValue root = JsonReader.parse(configJson);
        if (!(root instanceof JsonValue.Obj obj)) throw new IllegalArgumentException(configJson + ": expected a JSON object");
        if (!(obj.get("vision_config") instanceof JsonValue.Obj v) || !(obj.get("text_config") instanceof JsonValue.Obj t)) {
            throw new IllegalArgumentException(configJson + ": not a BLIP config (no vision_config / text_config objects);"
                    + " use a folder of BlipForConditionalGeneration, e.g. Salesforce/blip-image-captioning-base");
        }
        try {
            Vision vision = new Vision(integer(v, "hidden_size", 768), integer(v, "intermediate_size", 3072),
                    integer(v, "num_hidden_layers", 12), integer(v, "num_attention_heads", 12),
                    integer(v, "image_size", 384), integer(v, "patch_size", 16),
                    Activation.parse(string(v, "hidden_act", "gelu")), number(v, "layer_norm_eps", 1e-5));
            Text text = new Text(integer(t, "vocab_size", 30524), integer(t, "hidden_size", 768),
                    vision.hidden(),   // BlipConfig.__init__ overwrites text_config.encoder_hidden_size with this
                    integer(t, "intermediate_size", 3072), integer(t, "num_hidden_layers", 12),
                    integer(t, "num_attention_heads", 8), integer(t, "max_position_embeddings", 512),
                    Activation.parse(string(t, "hidden_act", "gelu")), number(t, "layer_norm_eps", 1e-12),
                    integer(t, "bos_token_id", 30522), integer(t, "sep_token_id", 102), integer(t, "pad_token_id", 0));
            return new BlipConfig(vision, text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
        }
    }

    private static int integer(JsonValue.Obj o, String key, int dflt) {
        return switch (o.get(key)) {
            case null -> dflt;
            case JsonValue.Null n -> dflt;
            case JsonValue.Int i -> Math.toIntExact(i.value());
            case JsonValue v -> throw new IllegalArgumentException(key + " must be an integer, got " + v.typeName());
        };
    }

    private static double number(JsonValue.Obj o, String key, double dflt) {
        return switch (o.get(key)) {
            case null -> dflt;
            case JsonValue.Null n -> dflt;
            case JsonValue.Int i -> i.value();
            case JsonValue.Dec d -> d.value();
            case JsonValue v -> throw new IllegalArgumentException(key + " must be a number, got " + v.typeName());
        };
    }

    private static String string(JsonValue.Obj o, String key, String dflt) {
        return switch (o.get(key)) {
            case null -> dflt;
            case JsonValue.Null n -> dflt;
            case JsonValue.Str s -> s.value();
            case JsonValue v -> throw new IllegalArgumentException(key + " must be a string, got " + v.typeName());
        };
    }
}
