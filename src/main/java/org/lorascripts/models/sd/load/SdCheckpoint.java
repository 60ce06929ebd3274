package org.lorascripts.models.sd.load;

import java.util.List;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.AutoencoderKL;
import org.lorascripts.models.sd.vae.VaeConfig;

/**
 * An opened SD 1.x / 2.x checkpoint (diffusers folder or LDM single file): the detected family and
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

    SdCheckpoint(String label, Layout layout, SdFamily family, UNetConfig unetConfig, VaeConfig vaeConfig, WeightSource unetWeights,
                 WeightSource vaeWeights, TextEncoderSlot textEncoder, java.util.function.Function<List<String>, ClipTextConfig> textConfig,
                 List<TensorSource> sources, List<String> notes) {
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

    /** The text encoder's location and layout; null when the checkpoint has none. */
    public TextEncoderSlot textEncoder() { return textEncoder; }

    /**
     * The text encoder's shape (from its config.json, the file's metadata, or its tensors), worked
     * out when first asked for; null without a text encoder.
     */
    public ClipTextConfig textConfig() {
        if (textConfig == null && textEncoder != null) textConfig = textConfigSource.apply(notes);
        return textConfig;
    }

    /**
     * One line per assumption the loader made where neither the tensors nor a config said (attention
     * heads or norm groups of non-standard widths), for the user to see.
     */
    public List<String> notes() { return List.copyOf(notes); }

    public UNet2DConditionModel loadUnet(Device device, DType dtype) { return UNet2DConditionModel.load(unetConfig, unetWeights, device, dtype); }

    public AutoencoderKL loadVae(Device device, DType dtype) { return AutoencoderKL.load(vaeConfig, vaeWeights, device, dtype); }

    @Override public void close() {
        for (TensorSource s : sources) s.close();
    }

    @Override public String toString() {
        return label + " (" + family.displayName + ", " + (layout == Layout.DIFFUSERS ? "diffusers folder" : "single file") + ", "
                + unetConfig.prediction().configName + ")";
    }
}
