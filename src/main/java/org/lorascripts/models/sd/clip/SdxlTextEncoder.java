package org.lorascripts.models.sd.clip;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.MissingWeightException;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.text.clip.ClipTokenizer;

/**
 * SDXL's two text encoders: where each one's weights, config and tokenizer are, and what the tensors
 * cannot say about them. Both are read under HF names whatever the layout ({@link ClipTextWeights}),
 * so their LoRA host names are HF module names ({@code text_model.encoder.layers.N.self_attn.q_proj})
 * for kohya's {@code lora_te1_} / {@code lora_te2_} keys.
 *
 * <ul>
 *   <li>{@link #TE1}: OpenAI CLIP ViT-L/14 ({@link ClipTextModel}); the UNet takes its
 *       {@link ClipTextModel#penultimateHiddenState penultimate hidden state} (B, 77, 768).</li>
 *   <li>{@link #TE2}: OpenCLIP ViT-bigG/14 ({@link ClipTextModelWithProjection}); the UNet takes its
 *       penultimate hidden state (B, 77, 1280), concatenated after TE1's into the (B, 77, 2048) context,
 *       and its projected pooled output (B, 1280) in the added conditioning.</li>
 * </ul>
 * References: diffusers' {@code StableDiffusionXLPipeline.encode_prompt}; sgm's
 * {@code FrozenCLIPEmbedder} / {@code FrozenOpenCLIPEmbedder2} (generative-models, sgm/modules/encoders/modules.py).
 */
public enum SdxlTextEncoder {
    TE1("text encoder 1 (CLIP ViT-L)", "text_encoder", "tokenizer", ClipTextWeights.SDXL_TE1_PREFIX, ClipTextConfig.sdxlClipL(), false),
    TE2("text encoder 2 (OpenCLIP ViT-bigG)", "text_encoder_2", "tokenizer_2", ClipTextWeights.SDXL_TE2_PREFIX, ClipTextConfig.sdxlBigG(), true);

    private static final String TOKEN = "embeddings.token_embedding.weight";

    /** For messages. */
    public final String displayName;
    /** Subfolders of a diffusers SDXL folder. */
    public final String folder, tokenizerFolder;
    /** Where the encoder's tensors start in an SDXL LDM single file. */
    public final String ldmPrefix;
    private final ClipTextConfig preset;
    private final boolean projected;

    SdxlTextEncoder(String displayName, String folder, String tokenizerFolder, String ldmPrefix, ClipTextConfig preset, boolean projected) {
        this.displayName = displayName;
        this.folder = folder;
        this.tokenizerFolder = tokenizerFolder;
        this.ldmPrefix = ldmPrefix;
        this.preset = preset;
        this.projected = projected;
    }

    /** The full-size SDXL encoder; activation, eps, special ids and pad id of the inferred configs come from it. */
    public ClipTextConfig preset() { return preset; }

    /** Whether the encoder has a {@code text_projection} (HF CLIPTextModelWithProjection). */
    public boolean projected() { return projected; }

    /** The id SDXL's tokenizer for this encoder pads with when its folder does not say: 49407 for TE1, 0 ("!") for TE2. */
    public int defaultPadId() { return preset.padTokenId(); }

    /**
     * This encoder's tensors under HF names, from its diffusers {@code model.safetensors} (HF names, with
     * or without {@code text_model.}) or from an SDXL single file ({@link #ldmPrefix}: HF names for TE1,
     * OpenCLIP names with a fused in_proj and a transposed text_projection for TE2).
     */
    public ClipTextWeights weights(TensorSource src, String label) {
        if (src.contains("text_model." + TOKEN) || src.contains(TOKEN)) return ClipTextWeights.hf(src, label);
        if (this == TE1 && (src.contains(ldmPrefix + "text_model." + TOKEN) || src.contains(ldmPrefix + TOKEN))) {
            return ClipTextWeights.ldm(src, ldmPrefix, label);
        }
        if (this == TE2 && src.contains(ldmPrefix + "token_embedding.weight")) return ClipTextWeights.openClip(src, ldmPrefix, label);
        String looked = this == TE1 ? ldmPrefix + "[text_model.]" + TOKEN : ldmPrefix + "token_embedding.weight";
        throw new IllegalArgumentException(label + ": no SDXL " + displayName + " found (looked for text_model." + TOKEN + " and " + looked + ")");
    }

    /**
     * The shape from the tensors, with {@link #preset()} for what they do not say. TE2 must have its
     * projection: without it the error names the tensor and where it was looked for.
     */
    public ClipTextDims inferDims(WeightSource hf, String label, List<String> notes) {
        ClipTextDims dims = ClipTextDims.infer(hf, preset, label, notes);
        if (projected) projectionDim(hf, label);
        return dims;
    }

    /** Out-features of TE2's {@code text_projection.weight}; a one-line error naming it when it is missing. */
    public int projectionDim(WeightSource hf, String label) {
        if (!projected) throw new UnsupportedOperationException("SDXL's " + displayName + " has no text projection");
        return ClipTextDims.projectionDim(hf, label).orElseThrow(() -> new MissingWeightException(label + ": missing tensor "
                + ClipTextWeights.TEXT_PROJECTION + hf.fileName(ClipTextWeights.TEXT_PROJECTION).map(f -> " (" + f + " in the file)").orElse("")
                + "; SDXL's " + displayName + " needs it for the pooled embedding"));
    }

    /**
     * The encoder's config in a diffusers folder ({@code folder/config.json}), padding as its tokenizer
     * does ({@link #tokenizer}); config.json's own {@code pad_token_id} (1 in SDXL's) is not what
     * the tokenizer pads with.
     */
    public ClipTextConfig config(Path modelFolder) throws IOException {
        return ClipTextConfig.fromHfConfig(modelFolder.resolve(folder).resolve("config.json")).withPadTokenId(tokenizer(modelFolder).padId());
    }

    /**
     * The tokenizer for this encoder: a diffusers folder's {@link #tokenizerFolder} (its vocabulary and
     * the pad token its {@code tokenizer_config.json} or {@code special_tokens_map.json} names), else the
     * bundled CLIP merges; the pad is {@link #defaultPadId()} where nothing names one.
     *
     * @param modelFolder the diffusers folder, or null (single files carry no tokenizer)
     */
    public ClipTokenizer tokenizer(Path modelFolder) throws IOException {
        if (modelFolder == null || !Files.isDirectory(modelFolder.resolve(tokenizerFolder))) {
            return ClipTokenizer.bundled().withPadId(defaultPadId());
        }
        return ClipTokenizer.fromDiffusersFolder(modelFolder, tokenizerFolder, defaultPadId());
    }
}
