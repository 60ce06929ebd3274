package org.lorascripts.models.sd.clip;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * A CLIP text encoder's weights under HF names ({@code text_model.*}, as {@link ClipTextModel} asks for
 * them), read from any of the layouts they are stored in:
 * <ul>
 *   <li>HF / diffusers folders: {@code text_model.*}, or without that prefix (transformers 5 saves
 *       CLIPTextModel so), and {@code text_projection.weight} of a CLIPTextModelWithProjection (SDXL's
 *       {@code text_encoder_2/});</li>
 *   <li>LDM single files, OpenAI CLIP (SD 1.x, SDXL's first encoder): the HF names under
 *       {@code cond_stage_model.transformer.} ({@code conditioner.embedders.0.transformer.}), in older
 *       files without {@code text_model.};</li>
 *   <li>LDM single files, OpenCLIP (SD 2.x under {@link #SD2_PREFIX}, SDXL's second encoder under
 *       {@link #SDXL_TE2_PREFIX}): {@code transformer.resblocks.N.attn.in_proj_weight}
 *       holding q, k and v stacked on dim 0, {@code attn.out_proj}, {@code ln_1/ln_2}, {@code mlp.c_fc/c_proj},
 *       {@code token_embedding.weight}, {@code positional_embedding}, {@code ln_final}. q/k/v are read as
 *       thirds of in_proj, as diffusers' {@code convert_open_clip_checkpoint} does, and
 *       {@code text_projection.weight} as the transpose of {@code text_projection} (OpenCLIP stores the
 *       (D, P) matrix it right-multiplies with; HF's Linear holds (P, D)); {@code logit_scale} is not
 *       read:
 *       https://github.com/huggingface/diffusers/blob/main/src/diffusers/loaders/single_file_utils.py</li>
 * </ul>
 * The models only ever ask for HF names, so module names (and the kohya LoRA names made from them)
 * are the same whatever the layout.
 */
public final class ClipTextWeights implements WeightSource {
    /** SD 1.x: OpenAI CLIP under HF names. */
    public static final String SD1_PREFIX = "cond_stage_model.transformer.";
    /** SD 2.x: OpenCLIP ViT-H names. */
    public static final String SD2_PREFIX = "cond_stage_model.model.";
    /** SDXL's first encoder (CLIP ViT-L): HF names, {@code text_model.*}. */
    public static final String SDXL_TE1_PREFIX = "conditioner.embedders.0.transformer.";
    /** SDXL's second encoder (OpenCLIP ViT-bigG): OpenCLIP names, with {@code text_projection}. */
    public static final String SDXL_TE2_PREFIX = "conditioner.embedders.1.model.";
    /** HF's name of CLIPTextModelWithProjection's projection. */
    public static final String TEXT_PROJECTION = "text_projection.weight";

    private static final String TOKEN_EMBEDDING = "embeddings.token_embedding.weight";
    private static final Pattern LAYER = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\.(.+)");
    private static final Pattern QKV = Pattern.compile("self_attn\\.([qkv])_proj\\.(weight|bias)");

    /**
     * Where a model tensor lives in the file: a whole tensor, the {@code part}-th third of dim 0, or
     * the transpose of a matrix.
     */
    private record Location(String file, int part, boolean transposed) {
        static Location whole(String file) { return new Location(file, -1, false); }
        static Location third(String file, int part) { return new Location(file, part, false); }
        static Location transposeOf(String file) { return new Location(file, -1, true); }
    }

    private final TensorSource source;
    private final Function<String, Location> locate;
    private final String label;

    private ClipTextWeights(TensorSource source, Function<String, Location> locate, String label) {
        this.source = source;
        this.locate = locate;
        this.label = label;
    }

    /** Picks the layout from the names in the file (HF, LDM SD 1.x, LDM SD 2.x, in that order). */
    public static ClipTextWeights detect(TensorSource src, String label) {
        if (src.contains("text_model." + TOKEN_EMBEDDING) || src.contains(TOKEN_EMBEDDING)) return hf(src, label);
        if (src.contains(SD1_PREFIX + "text_model." + TOKEN_EMBEDDING) || src.contains(SD1_PREFIX + TOKEN_EMBEDDING)) return ldm(src, SD1_PREFIX, label);
        if (src.contains(SD2_PREFIX + "token_embedding.weight")) return openClip(src, SD2_PREFIX, label);
        throw new IllegalArgumentException(label + ": no CLIP text encoder found (looked for text_model." + TOKEN_EMBEDDING + ", "
                + SD1_PREFIX + "[text_model.]" + TOKEN_EMBEDDING + " and " + SD2_PREFIX + "token_embedding.weight)");
    }

    /** An HF CLIPTextModel file, with or without the {@code text_model.} prefix. */
    public static ClipTextWeights hf(TensorSource src, String label) { return ldm(src, "", label); }

    /** OpenAI-CLIP names under a prefix (e.g. {@link #SD1_PREFIX}), with or without {@code text_model.}. */
    public static ClipTextWeights ldm(TensorSource src, String prefix, String label) {
        boolean withTextModel = src.contains(prefix + "text_model." + TOKEN_EMBEDDING);
        return new ClipTextWeights(src, name -> {
            if (withTextModel) return Location.whole(prefix + name);
            // the text model's names lose text_model.; a WithProjection's text_projection stays at the root
            return Location.whole(prefix + (name.startsWith("text_model.") ? name.substring("text_model.".length()) : name));
        }, label);
    }

    /** OpenCLIP names under a prefix (e.g. {@link #SD2_PREFIX}). */
    public static ClipTextWeights openClip(TensorSource src, String prefix, String label) {
        return new ClipTextWeights(src, name -> openClipLocation(prefix, name), label);
    }

    private static Location openClipLocation(String prefix, String name) {
        switch (name) {
            case "text_model.embeddings.token_embedding.weight": return Location.whole(prefix + "token_embedding.weight");
            case "text_model.embeddings.position_embedding.weight": return Location.whole(prefix + "positional_embedding");
            case "text_model.final_layer_norm.weight": return Location.whole(prefix + "ln_final.weight");
            case "text_model.final_layer_norm.bias": return Location.whole(prefix + "ln_final.bias");
            case TEXT_PROJECTION: return Location.transposeOf(prefix + "text_projection");
            default: break;
        }
        Matcher m = LAYER.matcher(name);
        if (!m.matches()) return null;
        String block = prefix + "transformer.resblocks." + m.group(1) + ".";
        String rest = m.group(2);
        Matcher qkv = QKV.matcher(rest);
        if (qkv.matches()) return Location.third(block + "attn.in_proj_" + qkv.group(2), "qkv".indexOf(qkv.group(1)));
        String mapped = rest
                .replace("self_attn.out_proj.", "attn.out_proj.")
                .replace("layer_norm1.", "ln_1.")
                .replace("layer_norm2.", "ln_2.")
                .replace("mlp.fc1.", "mlp.c_fc.")
                .replace("mlp.fc2.", "mlp.c_proj.");
        return Location.whole(block + mapped);
    }

    /** The file's name for a model tensor (for messages and tests); a q/k/v slice names its in_proj. */
    @Override public Optional<String> fileName(String name) {
        Location loc = locate.apply(name);
        return loc == null ? Optional.empty() : Optional.of(loc.file());
    }

    @Override public Optional<long[]> shape(String name) {
        Location loc = locate.apply(name);
        if (loc == null || !source.contains(loc.file())) return Optional.empty();
        try {
            long[] shape = source.info(loc.file()).shape();
            if (loc.part() >= 0) shape[0] /= 3;
            if (loc.transposed() && shape.length == 2) return Optional.of(new long[] {shape[1], shape[0]});
            return Optional.of(shape);
        } catch (IOException e) {
            throw new UncheckedIOException(label + ": " + e.getMessage(), e);
        }
    }

    @Override public Tensor load(String name, long[] expectedShape, Device device, DType dtype) {
        Location loc = locate.apply(name);
        try {
            TensorInfo info = source.info(loc.file());
            long[] shape = info.shape();
            MemorySegment data = source.data(loc.file());
            if (loc.part() >= 0) {
                // dim 0 is outermost, so each third of it is one contiguous byte range
                if (shape[0] % 3 != 0) throw new IllegalArgumentException(label + ": " + loc.file() + " " + TensorInfo.shapeString(shape)
                        + " cannot hold q, k and v stacked on dim 0");
                shape[0] /= 3;
                long bytes = data.byteSize() / 3;
                data = data.asSlice(loc.part() * bytes, bytes);
            }
            if (loc.transposed() && shape.length != 2) {
                throw new IllegalArgumentException(label + ": " + loc.file() + " " + TensorInfo.shapeString(shape) + " is not a matrix");
            }
            try (Tensor cpu = Torch.wrapSegment(data, info.dtype(), shape)) {
                if (loc.transposed()) {
                    // contiguous() of the transposed view is already a copy off the mapping
                    try (Tensor view = cpu.transpose(0, 1); Tensor copy = view.contiguous()) {
                        return copy.to(dtype, device);
                    }
                }
                // .to() returns the same tensor when nothing changes: force a copy off the mapping
                return info.dtype() == dtype && !device.isCuda() ? cpu.copy() : cpu.to(dtype, device);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(label + ": cannot read " + loc.file() + ": " + e.getMessage(), e);
        }
    }

    @Override public String describe() { return label; }
}
