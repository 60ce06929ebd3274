package org.lorascripts.models.blip;

import java.io.IOException;
import java.nio.file.Path;
import org.lorascripts.io.Json;
import org.lorascripts.io.JsonFields;

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

    /** Reads {@code config.json} of a BlipForConditionalGeneration folder; absent keys take HF's defaults. */
    public static BlipConfig fromHfConfig(Path configJson) throws IOException {
        JsonFields c = JsonFields.of(Json.read(configJson), configJson.toString());
        JsonFields v = c.object("vision_config"), t = c.object("text_config");
        if (v == null || t == null) {
            throw new IllegalArgumentException(configJson + ": not a BLIP config (no vision_config / text_config objects);"
                    + " use a folder of BlipForConditionalGeneration, e.g. Salesforce/blip-image-captioning-base");
        }
        int vHidden = v.integer("hidden_size", 768), vInner = v.integer("intermediate_size", 3072);
        int vLayers = v.integer("num_hidden_layers", 12), vHeads = v.integer("num_attention_heads", 12);
        int imageSize = v.integer("image_size", 384), patch = v.integer("patch_size", 16);
        String vAct = v.string("hidden_act", "gelu");
        double vEps = v.number("layer_norm_eps", 1e-5);
        int vocab = t.integer("vocab_size", 30524), tHidden = t.integer("hidden_size", 768), tInner = t.integer("intermediate_size", 3072);
        int tLayers = t.integer("num_hidden_layers", 12), tHeads = t.integer("num_attention_heads", 8);
        int positions = t.integer("max_position_embeddings", 512);
        String tAct = t.string("hidden_act", "gelu");
        double tEps = t.number("layer_norm_eps", 1e-12);
        int bos = t.integer("bos_token_id", 30522), sep = t.integer("sep_token_id", 102), pad = t.integer("pad_token_id", 0);
        try {
            Vision vision = new Vision(vHidden, vInner, vLayers, vHeads, imageSize, patch, Activation.parse(vAct), vEps);
            // BlipConfig.__init__ overwrites text_config.encoder_hidden_size with the vision width
            Text text = new Text(vocab, tHidden, vision.hidden(), tInner, tLayers, tHeads, positions, Activation.parse(tAct), tEps, bos, sep, pad);
            return new BlipConfig(vision, text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
        }
    }
}
