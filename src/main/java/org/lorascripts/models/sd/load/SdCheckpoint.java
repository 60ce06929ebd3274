package org.lorascripts.models.sd.load;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.clip.ClipTextDims;
import org.lorascripts.models.sd.clip.ClipTextWeights;
import org.lorascripts.models.sd.clip.SdxlTextEncoder;
import org.lorascripts.text.clip.ClipTokenizer;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.AutoencoderKL;
import org.lorascripts.models.sd.vae.VaeConfig;

/**
 * An opened SD 1.x / 2.x or SDXL checkpoint (diffusers folder or LDM single file): the detected family and
 * configs, and weight sources that answer diffusers names, so the same models load from either
 * layout. The files stay memory-mapped until {@link #close()}; models loaded from it copy their
 * weights and may outlive it. Open with {@link SdCheckpointLoader}.
 */
public final class SdCheckpoint implements AutoCloseable {
    /** How the weights are laid out on disk. */
    public enum Layout { DIFFUSERS, LDM_SINGLE_FILE }

    private final String label;
    private final Layout layout;
    private final SdFamily family;
    private final UNetConfig unetConfig;
    private final VaeConfig vaeConfig;
    private final WeightSource unetWeights, vaeWeights;
    private final TextEncoderSlot textEncoder;
    private final java.util.function.Function<List<String>, ClipTextConfig> textConfigSource;
    private ClipTextConfig textConfig;
    private final List<TensorSource> sources;
    private final List<String> notes;
    private final TextEncoderSlot textEncoder2;
    private final Path diffusersFolder;
    private final java.util.Map<SdxlTextEncoder, ClipTextDims> sdxlDims = new java.util.EnumMap<>(SdxlTextEncoder.class);

    SdCheckpoint(String label, Layout layout, SdFamily family, UNetConfig unetConfig, VaeConfig vaeConfig, WeightSource unetWeights,
                 WeightSource vaeWeights, TextEncoderSlot textEncoder, java.util.function.Function<List<String>, ClipTextConfig> textConfig,
                 List<TensorSource> sources, List<String> notes) {
        this(label, layout, family, unetConfig, vaeConfig, unetWeights, vaeWeights, textEncoder, textConfig, null, null, sources, notes);
    }

    /**
     * @param textEncoder2    SDXL's second encoder (OpenCLIP bigG), null for SD 1.x / 2.x
     * @param diffusersFolder the model folder of a diffusers checkpoint (SDXL reads configs and tokenizers from it), else null
     */
    SdCheckpoint(String label, Layout layout, SdFamily family, UNetConfig unetConfig, VaeConfig vaeConfig, WeightSource unetWeights,
                 WeightSource vaeWeights, TextEncoderSlot textEncoder, java.util.function.Function<List<String>, ClipTextConfig> textConfig,
                 TextEncoderSlot textEncoder2, Path diffusersFolder, List<TensorSource> sources, List<String> notes) {
        this.textEncoder2 = textEncoder2;
        this.diffusersFolder = diffusersFolder;
        this.label = label;
        this.layout = layout;
        this.family = family;
        this.unetConfig = unetConfig;
        this.vaeConfig = vaeConfig;
        this.unetWeights = unetWeights;
        this.vaeWeights = vaeWeights;
        this.textEncoder = textEncoder;
        this.textConfigSource = textConfig;
        this.sources = List.copyOf(sources);
        this.notes = new java.util.ArrayList<>(notes);
    }

    public String label() { return label; }
    public Layout layout() { return layout; }
    public SdFamily family() { return family; }
    public UNetConfig unetConfig() { return unetConfig; }
    public VaeConfig vaeConfig() { return vaeConfig; }
    public UNetConfig.Prediction prediction() { return unetConfig.prediction(); }

    /** UNet weights under diffusers names (mapped to LDM names for single files). */
    public WeightSource unetWeights() { return unetWeights; }

    /** VAE weights under diffusers names (LDM's 1x1-conv attention weights squeezed). */
    public WeightSource vaeWeights() { return vaeWeights; }

    /** The text encoder's location and layout (SDXL: its first, CLIP ViT-L); null when the checkpoint has none. */
    public TextEncoderSlot textEncoder() { return textEncoder; }

    /** Every text encoder in the order the UNet's context concatenates them: one for SD 1.x / 2.x, TE1 and TE2 for SDXL. */
    public List<TextEncoderSlot> textEncoders() {
        List<TextEncoderSlot> all = new java.util.ArrayList<>();
        if (textEncoder != null) all.add(textEncoder);
        if (textEncoder2 != null) all.add(textEncoder2);
        return List.copyOf(all);
    }

    /** One of SDXL's two encoders. */
    public TextEncoderSlot textEncoder(SdxlTextEncoder which) {
        requireSdxl(which);
        return which == SdxlTextEncoder.TE1 ? textEncoder : textEncoder2;
    }

    /** An SDXL encoder's tensors under HF names ({@code text_model.*}, TE2's {@code text_projection.weight}), whatever the layout. */
    public ClipTextWeights textWeights(SdxlTextEncoder which) {
        TextEncoderSlot slot = textEncoder(which);
        return which.weights(slot.source(), slot.label());
    }

    /**
     * An SDXL encoder's full config (every layer: the UNet takes the penultimate hidden state, which
     * the model computes), from the folder's config.json padded as its tokenizer does, or inferred from
     * a single file's tensors with SDXL's rules for the rest.
     */
    public ClipTextConfig textConfig(SdxlTextEncoder which) { return sdxlDims(which).config(); }

    /** Out-features of TE2's {@code text_projection}: the width of the pooled text embedding in SDXL's added condition. */
    public int pooledTextDim() {
        return sdxlDims(SdxlTextEncoder.TE2).projectionDim().orElseThrow();
    }

    /** The tokenizer of an SDXL encoder: the diffusers folder's {@code tokenizer[_2]/}, else the bundled merges with SDXL's pad. */
    public ClipTokenizer tokenizer(SdxlTextEncoder which) throws IOException {
        requireSdxl(which);
        return which.tokenizer(diffusersFolder);
    }

    private ClipTextDims sdxlDims(SdxlTextEncoder which) {
        requireSdxl(which);
        ClipTextDims d = sdxlDims.get(which);
        if (d != null) return d;
        if (diffusersFolder != null) {
            try {
                ClipTextConfig c = which.config(diffusersFolder);
                java.util.OptionalInt proj = which.projected()
                        ? java.util.OptionalInt.of(which.projectionDim(textWeights(which), textEncoder(which).label())) : java.util.OptionalInt.empty();
                d = new ClipTextDims(c, proj);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(label + ": " + e.getMessage(), e);
            }
        } else {
            ClipTextWeights w = textWeights(which);
            d = which.inferDims(w, textEncoder(which).label(), notes);
            if (which.projected()) d = new ClipTextDims(d.config(), java.util.OptionalInt.of(which.projectionDim(w, textEncoder(which).label())));
        }
        sdxlDims.put(which, d);
        return d;
    }

    private void requireSdxl(SdxlTextEncoder which) {
        if (family != SdFamily.SDXL) throw new UnsupportedOperationException(label + " is " + family.displayName + "; it has no SDXL " + which.displayName);
    }

    /**
     * The dtype to run the VAE in. SDXL's own VAE overflows in fp16 (NaN latents and black images; the
     * fp16-fix VAE exists for that reason), so SDXL's is fp32 whatever the training dtype; SD 1.x / 2.x
     * also decode in fp32, as the pipeline has always done.
     */
    public DType vaeComputeDtype() { return DType.F32; }

    /**
     * The text encoder's shape (from its config.json, the file's metadata, or its tensors), worked
     * out when first asked for; null without a text encoder.
     */
    public ClipTextConfig textConfig() {
        if (family == SdFamily.SDXL) return textEncoder == null ? null : textConfig(SdxlTextEncoder.TE1);
        if (textConfig == null && textEncoder != null) textConfig = textConfigSource.apply(notes);
        return textConfig;
    }

    /**
     * One line per assumption the loader made where neither the tensors nor a config said (attention
     * heads or norm groups of non-standard widths), for the user to see.
     */
    public List<String> notes() { return List.copyOf(notes); }

    public UNet2DConditionModel loadUnet(Device device, DType dtype) { return loadUnet(device, dtype, false); }

    /** The UNet, the linear and convolution weights of its blocks stored as fp8 when {@code fp8Base}. */
    public UNet2DConditionModel loadUnet(Device device, DType dtype, boolean fp8Base) {
        return UNet2DConditionModel.load(unetConfig, unetWeights, device, dtype, fp8Base);
    }

    public AutoencoderKL loadVae(Device device, DType dtype) { return AutoencoderKL.load(vaeConfig, vaeWeights, device, dtype); }

    @Override public void close() {
        for (TensorSource s : sources) s.close();
    }

    @Override public String toString() {
        return label + " (" + family.displayName + ", " + (layout == Layout.DIFFUSERS ? "diffusers folder" : "single file") + ", "
                + unetConfig.prediction().configName + ")";
    }
}
