package org.lorascripts.models.sd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.lorascripts.config.BaseModel;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.text.clip.ClipTokenizer;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.clip.ClipTextModel;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.load.TextEncoderSlot;
import org.lorascripts.models.sd.load.TinySdBuiltin;
import org.lorascripts.models.sd.sampling.DdpmSchedule;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.AutoencoderKL;

/**
 * The frozen parts of one SD 1.x / 2.x checkpoint on a device, shared by training and
 * {@code ./lora sample}: UNet and CLIP text encoder in the compute dtype, the tokenizer that belongs
 * to them, the noise schedule, and the VAE, which is loaded when first asked for and can be dropped
 * once latents are cached (it is the largest part nobody needs during cached training).
 *
 * <p>The VAE always runs in fp32: SD VAEs overflow in fp16 at larger resolutions (kohya's
 * {@code --no_half_vae} exists for this), and it runs once per image, so fp32 costs little.
 */
public final class SdPipeline implements AutoCloseable {
    private final BaseModel baseModel;
    private final SdCheckpoint checkpoint;
    private final Device device;
    private final DType dtype;
    private final UNet2DConditionModel unet;
    private final Weights textWeights;
    private final ClipTextModel textEncoder;
    private final ClipTokenizer tokenizer;
    private final DdpmSchedule schedule = new DdpmSchedule();
    private AutoencoderKL vae;
    private int vaeLoads;

    private SdPipeline(BaseModel baseModel, SdCheckpoint checkpoint, Device device, DType dtype) throws IOException {
        this.baseModel = baseModel;
        this.checkpoint = checkpoint;
        this.device = device;
        this.dtype = dtype;
        if (checkpoint.family() == SdFamily.SDXL) {
            // the checkpoint opens (both encoders, pooled text, VAE), but this pipeline conditions the UNet on one encoder
            throw new UnsupportedOperationException(checkpoint.label() + ": looks like SDXL; SDXL LoRA training and sampling are not supported yet");
        }
        TextEncoderSlot slot = checkpoint.textEncoder();
        if (slot == null) {
            throw new IllegalArgumentException(checkpoint.label() + " has no text encoder (no cond_stage_model.* tensors or text_encoder/ folder);"
                    + " use a complete SD 1.x/2.x checkpoint");
        }
        ClipTextConfig textConfig = checkpoint.textConfig();
        WeightSource textSource = SdCheckpointLoader.hfTextWeights(slot);
        this.tokenizer = tokenizerOf(slot, checkpoint.family());
        UNet2DConditionModel u = checkpoint.loadUnet(device, dtype);
        Weights tw = new Weights(textSource, device, dtype);
        try {
            this.textEncoder = new ClipTextModel(tw, textConfig);
        } catch (RuntimeException e) {
            tw.close();
            u.close();
            throw e;
        }
        this.unet = u;
        this.textWeights = tw;
        keepAll(u.parameters());
        keepAll(tw.loadedTensors());
    }

    /** Model weights live as long as the model, whatever scope it was loaded in (e.g. a lazy VAE load while sampling). */
    private static void keepAll(java.util.Map<String, Tensor> tensors) {
        for (Tensor t : tensors.values()) t.keep();
    }

    /**
     * Opens {@code builtin:tiny-sd}, an LDM single-file {@code .safetensors} or a diffusers folder.
     *
     * @param prediction overrides what the checkpoint says (null = the checkpoint's, else epsilon)
     */
    public static SdPipeline open(BaseModel base, UNetConfig.Prediction prediction, Device device, DType dtype) throws IOException {
        return open(base, prediction, null, device, dtype);
    }

    /**
     * @param ldmConfig the LDM {@code .yaml} of a single-file checkpoint (attention heads, v-prediction,
     *                  VAE scale); null = the {@code .yaml} beside it, if any
     */
    public static SdPipeline open(BaseModel base, UNetConfig.Prediction prediction, Path ldmConfig, Device device, DType dtype) throws IOException {
        return open(base, prediction, ldmConfig, null, device, dtype);
    }

    /** @param vae a separate VAE used instead of the checkpoint's (config key {@code vae}); null = the checkpoint's */
    public static SdPipeline open(BaseModel base, UNetConfig.Prediction prediction, Path ldmConfig, Path vae, Device device, DType dtype) throws IOException {
        if (ldmConfig != null && !(base instanceof BaseModel.Local l && Files.isRegularFile(l.path()))) {
            throw new IllegalArgumentException("ldm_config " + ldmConfig + " applies to single-file .safetensors checkpoints only; " + base
                    + " carries its own configs");
        }
        SdCheckpoint ckpt = switch (base) {
            case BaseModel.Builtin b -> {
                if (!b.name().equals("tiny-sd")) {
                    throw new IllegalArgumentException("base_model " + b + " is not an image model; use " + SdCheckpointLoader.BUILTIN_TINY);
                }
                yield SdCheckpointLoader.open(TinySdBuiltin.ensureCached(), prediction, null, vae);
            }
            case BaseModel.Local l -> SdCheckpointLoader.open(l.path(), prediction, ldmConfig, vae);
        };
        try {
            return new SdPipeline(base, ckpt, device, dtype);
        } catch (RuntimeException | IOException e) {
            ckpt.close();
            throw e;
        }
    }

    /** {@code builtin:NAME} or a path, as a config's base_model is written. */
    public static BaseModel parseBase(String spec) {
        return spec.startsWith(BaseModel.BUILTIN_PREFIX)
                ? new BaseModel.Builtin(spec.substring(BaseModel.BUILTIN_PREFIX.length()))
                : new BaseModel.Local(Path.of(spec).toAbsolutePath().normalize());
    }

    /** A diffusers folder's own tokenizer; else the bundled CLIP merges, padding as the family's tokenizer does. */
    private static ClipTokenizer tokenizerOf(TextEncoderSlot slot, SdFamily family) throws IOException {
        if (slot.tokenizer() != null) {
            return ClipTokenizer.fromDiffusersFolder(slot.tokenizer().getParent(), slot.tokenizer().getFileName().toString());
        }
        ClipTokenizer bundled = ClipTokenizer.bundled();
        return family == SdFamily.SD2 ? bundled.withPadId(ClipTokenizer.OPENCLIP_PAD_ID) : bundled;
    }

    public BaseModel baseModel() { return baseModel; }
    public SdCheckpoint checkpoint() { return checkpoint; }
    public SdFamily family() { return checkpoint.family(); }
    public boolean vPrediction() { return checkpoint.prediction() == UNetConfig.Prediction.V_PREDICTION; }
    public Device device() { return device; }
    public DType dtype() { return dtype; }
    public UNet2DConditionModel unet() { return unet; }
    public ClipTextModel textEncoder() { return textEncoder; }
    public ClipTokenizer tokenizer() { return tokenizer; }
    public DdpmSchedule schedule() { return schedule; }

    /** Pixels per latent pixel (8 for SD). */
    public int vaeDownscale() { return checkpoint.vaeConfig().downscale(); }

    /** The VAE in fp32, loaded now if it was not (or was dropped). */
    public AutoencoderKL vae() {
        if (vae == null) {
            vae = checkpoint.loadVae(device, DType.F32);
            keepAll(vae.parameters());
            vaeLoads++;
        }
        return vae;
    }

    /** Frees the VAE's weights; {@link #vae()} loads it again when needed. */
    public void dropVae() {
        if (vae != null) {
            vae.close();
            vae = null;
        }
    }

    /** How often the VAE was loaded (tests check that it is dropped and reloaded lazily). */
    public int vaeLoads() { return vaeLoads; }

    /**
     * A prompt's text-encoder states (1, 2 + 75 n, D) for max_token_length 75 n, as kohya encodes
     * long captions; clipSkip 1 = the last layer.
     */
    public Tensor encodePrompt(String text, int maxTokenLength, int clipSkip) {
        return textEncoder.encodeChunks(tokenizer.encodeChunks(text, maxTokenLength), clipSkip);
    }

    /**
     * Identifies the weights the VAE comes from, for latent cache keys: latents of another VAE (or of
     * a changed file) must not be reused.
     */
    public String vaeIdentity() throws IOException {
        return switch (baseModel) {
            case BaseModel.Builtin b -> b + "|" + TinySdBuiltin.identity();
            case BaseModel.Local l -> {
                Path p = l.path();
                Path weights = Files.isDirectory(p) ? p.resolve("vae") : p;
                yield p.toAbsolutePath().normalize() + "|" + fingerprint(weights);
            }
        };
    }

    private static String fingerprint(Path p) throws IOException {
        if (!Files.isDirectory(p)) return "bytes=" + Files.size(p) + ",mtime=" + Files.getLastModifiedTime(p).toMillis();
        StringBuilder sb = new StringBuilder();
        try (var files = Files.list(p)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                sb.append(f.getFileName()).append(':').append(Files.size(f)).append(',').append(Files.getLastModifiedTime(f).toMillis()).append(';');
            }
        }
        return sb.toString();
    }

    @Override public void close() {
        dropVae();
        unet.close();
        textWeights.close();
        checkpoint.close();
    }
}
