package org.lorascripts.models.sd.load;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.clip.SdxlTextEncoder;

/**
 * Where a checkpoint's text encoder lives, for the CLIP implementation to plug in (this package does
 * not implement CLIP). {@code layout} says how tensors are named after {@code prefix}:
 * {@link Layout#HF_CLIP} as transformers' CLIPTextModel ({@code text_model.encoder.layers.0.self_attn.q_proj.weight}),
 * {@link Layout#OPEN_CLIP} as OpenCLIP ({@code transformer.resblocks.0.attn.in_proj_weight}, SD 2.x single files).
 *
 * @param config    the transformers config.json (diffusers folders, or embedded by built-in models); null when unknown
 * @param tokenizer the tokenizer folder of a diffusers model, or null (use the family's standard CLIP tokenizer)
 * @param sdxl      which of SDXL's two encoders this is; null for SD 1.x / 2.x
 */
public record TextEncoderSlot(SdFamily family, Layout layout, TensorSource source, String prefix, JsonNode config, Path tokenizer, String label,
                              SdxlTextEncoder sdxl) {
    public enum Layout { HF_CLIP, OPEN_CLIP }

    /** An SD 1.x / 2.x encoder (the only one of its checkpoint). */
    public TextEncoderSlot(SdFamily family, Layout layout, TensorSource source, String prefix, JsonNode config, Path tokenizer, String label) {
        this(family, layout, source, prefix, config, tokenizer, label, null);
    }

    /** HF CLIPTextModel names ({@code text_model.*}) → this checkpoint's tensors; only for {@link Layout#HF_CLIP}. */
    public WeightSource hfWeights() {
        if (layout != Layout.HF_CLIP) {
            throw new UnsupportedOperationException(label + ": the text encoder is stored in OpenCLIP layout (" + prefix
                    + "*); converting it to CLIPTextModel names is not implemented yet");
        }
        return new CheckpointWeights(source, name -> prefix + name, label);
    }
}
