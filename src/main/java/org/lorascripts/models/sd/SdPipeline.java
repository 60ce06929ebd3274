package org.lorascripts.models.sd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.HashMap;
import java.util.Collection;
import org.lorascripts.config.BaseModel;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Torch;
import org.lorascripts.text.clip.ClipTokenizer;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.clip.ClipTextModel;
import org.lorascripts.models.sd.clip.ClipTextModelWithProjection;
import org.lorascripts.models.sd.clip.SdxlTextEncoder;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.load.TextEncoderSlot;
import org.lorascripts.models.sd.load.TinySdBuiltin;
import org.lorascripts.models.sd.sampling.DdpmSchedule;
import org.lorascripts.models.sd.unet.AddedConditions;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.AutoencoderKL;

/**
 * The frozen parts of one SD 1.x / 2.x / SDXL checkpoint on a device, shared by training and
 * {@code ./lora sample}: UNet and CLIP text encoder(s) in the compute dtype, the tokenizer(s) that belong
 * to them, the noise schedule, and the VAE, which is loaded when first asked for and can be dropped
 * once latents are cached (it is the largest part nobody needs during cached training).
 *
 * <p>SDXL has two text encoders: {@link #textEncoder()} is its first (CLIP ViT-L), {@link #textEncoder2()}
 * its second (OpenCLIP bigG with projection); {@link #encodeConditioning} gives the UNet's context
 * (both penultimate states side by side) and the pooled embedding its added condition needs.
 *
 * <p>The VAE runs in {@link SdCheckpoint#vaeComputeDtype()} (fp32): SD VAEs overflow in fp16 at larger
 * resolutions (kohya's {@code --no_half_vae} exists for this; SDXL's gives NaN), and it runs once per
 * image, so fp32 costs little.
 */
public final class SdPipeline implements AutoCloseable {
    private final BaseModel baseModel;
    private final SdCheckpoint checkpoint;
    private final Device device;
    private final DType dtype;
    private UNet2DConditionModel unet;          // loaded when first asked for (training caches latents and text first)
    private final boolean fp8Base;
    private List<String> residentAtUnetLoad;
    private final Weights textWeights;
    private final ClipTextModel textEncoder;
    private final ClipTokenizer tokenizer;
    /** SDXL's second encoder, its weights and tokenizer (pads with 0); null for SD 1.x / 2.x. */
    private final ClipTextModelWithProjection textEncoder2;
    private final Weights textWeights2;
    private final ClipTokenizer tokenizer2;
    private final DdpmSchedule schedule = new DdpmSchedule();
    private AutoencoderKL vae;
    private int vaeLoads;
    /** Conditionings encoded ahead ({@link #pinConditioning}), by text, token length and clip skip. */
    private final Map<String, Conditioning> pinned = new HashMap<>();
    private boolean textEncodersDropped;

    private SdPipeline(BaseModel baseModel, SdCheckpoint checkpoint, Device device, DType dtype, boolean fp8Base) throws IOException {
        this.baseModel = baseModel;
        this.checkpoint = checkpoint;
        this.device = device;
        this.dtype = dtype;
        this.fp8Base = fp8Base;
        if (checkpoint.family() == SdFamily.SDXL) {
            this.tokenizer = checkpoint.tokenizer(SdxlTextEncoder.TE1);
            this.tokenizer2 = checkpoint.tokenizer(SdxlTextEncoder.TE2);
            List<AutoCloseable> opened = new ArrayList<>();
            try {
                Weights tw1 = new Weights(checkpoint.textWeights(SdxlTextEncoder.TE1), device, dtype);
                opened.add(tw1);
                tw1.setFp8Base(fp8Base);
                Weights tw2 = new Weights(checkpoint.textWeights(SdxlTextEncoder.TE2), device, dtype);
                opened.add(tw2);
                tw2.setFp8Base(fp8Base);
                this.textEncoder = new ClipTextModel(tw1, checkpoint.textConfig(SdxlTextEncoder.TE1));
                this.textEncoder2 = new ClipTextModelWithProjection(tw2, checkpoint.textConfig(SdxlTextEncoder.TE2), checkpoint.pooledTextDim());
                checkSdxlWidths(checkpoint, checkpoint.unetConfig(), textEncoder.config().hidden() + textEncoder2.config().hidden(),
                        textEncoder2.projectionDim());
                this.textWeights = tw1;
                this.textWeights2 = tw2;
            } catch (RuntimeException e) {
                for (AutoCloseable c : opened.reversed()) {
                    try {
                        c.close();
                    } catch (Exception suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
                throw e;
            }
            keepAll(textWeights.loadedTensors());
            keepAll(textWeights2.loadedTensors());
            return;
        }
        this.textEncoder2 = null;
        this.textWeights2 = null;
        this.tokenizer2 = null;
        TextEncoderSlot slot = checkpoint.textEncoder();
        if (slot == null) {
            throw new IllegalArgumentException(checkpoint.label() + " has no text encoder (no cond_stage_model.* tensors or text_encoder/ folder);"
                    + " use a complete SD 1.x/2.x checkpoint");
        }
        ClipTextConfig textConfig = checkpoint.textConfig();
        WeightSource textSource = SdCheckpointLoader.hfTextWeights(slot);
        this.tokenizer = tokenizerOf(slot, checkpoint.family());
        Weights tw = new Weights(textSource, device, dtype);
        tw.setFp8Base(fp8Base);
        try {
            this.textEncoder = new ClipTextModel(tw, textConfig);
        } catch (RuntimeException e) {
            tw.close();
            throw e;
        }
        this.textWeights = tw;
        keepAll(tw.loadedTensors());
    }

    /** The UNet must take what the encoders give: a mismatch would otherwise surface as a shape error deep in attention. */
    private static void checkSdxlWidths(SdCheckpoint ckpt, UNetConfig u, int context, int pooled) {
        if (u.crossAttentionDim() != context) {
            throw new IllegalArgumentException(ckpt.label() + ": the UNet's cross_attention_dim is " + u.crossAttentionDim()
                    + " but its two text encoders give " + context + " (TE1 + TE2 widths); the parts do not belong together");
        }
        if (u.textTime() == null) throw new IllegalArgumentException(ckpt.label() + ": an SDXL UNet without addition_embed_type text_time");
        int expected = pooled + AddedConditions.TIME_IDS * u.textTime().timeEmbedDim();
        if (u.textTime().inputDim() != expected) {
            throw new IllegalArgumentException(ckpt.label() + ": the UNet's added condition takes " + u.textTime().inputDim() + " features but TE2's pooled "
                    + pooled + " + " + AddedConditions.TIME_IDS + " time ids x " + u.textTime().timeEmbedDim() + " give " + expected);
        }
    }

    /** Model weights live as long as the model, whatever scope it was loaded in (e.g. a lazy VAE load while sampling). */
    private static void keepAll(java.util.Map<String, Tensor> tensors) {
        for (Tensor t : tensors.values()) t.keep();
    }

    /**
     * Opens {@code builtin:tiny-sd} / {@code builtin:tiny-sdxl}, an LDM single-file {@code .safetensors} or a diffusers folder.
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
        return open(base, prediction, ldmConfig, vae, device, dtype, false);
    }

    /**
     * @param fp8Base the linear and convolution weights of the UNet's blocks and the text encoders' linear weights stored
     *                as fp8 ({@code fp8_base}, as kohya's also covers the text encoders): half the memory of 16-bit weights,
     *                each made dense for one product at a time
     */
    public static SdPipeline open(BaseModel base, UNetConfig.Prediction prediction, Path ldmConfig, Path vae, Device device, DType dtype,
                                  boolean fp8Base) throws IOException {
        if (ldmConfig != null && !(base instanceof BaseModel.Local l && Files.isRegularFile(l.path()))) {
            throw new IllegalArgumentException("ldm_config " + ldmConfig + " applies to single-file .safetensors checkpoints only; " + base
                    + " carries its own configs");
        }
        SdCheckpoint ckpt = switch (base) {
            case BaseModel.Builtin b -> {
                TinySdBuiltin m = TinySdBuiltin.byName(b.name()).orElseThrow(() ->
                        new IllegalArgumentException("base_model " + b + " is not an image model; use " + TinySdBuiltin.choices()));
                yield SdCheckpointLoader.open(m.ensureCached(), prediction, null, vae);
            }
            case BaseModel.Local l -> SdCheckpointLoader.open(l.path(), prediction, ldmConfig, vae);
        };
        try {
            return new SdPipeline(base, ckpt, device, dtype, fp8Base);
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
    /**
     * The UNet, loaded now if it was not: a training run caches latents and text states (VAE and text encoders on the
     * device) and frees what it no longer needs before the UNet takes its place, so the two phases' peaks do not add up.
     */
    public UNet2DConditionModel unet() {
        if (unet == null) {
            List<String> resident = new ArrayList<>();
            if (vae != null) resident.add("vae");
            if (!textEncodersDropped) resident.add("text encoders");
            UNet2DConditionModel u = checkpoint.loadUnet(device, dtype, fp8Base);
            keepAll(u.parameters());
            unet = u;
            residentAtUnetLoad = List.copyOf(resident);
        }
        return unet;
    }

    /** Which other parts were on the device when the UNet loaded ("vae", "text encoders"); null before it loads. */
    public List<String> residentAtUnetLoad() { return residentAtUnetLoad; }
    /** The text encoder; SDXL's first (CLIP ViT-L). */
    public ClipTextModel textEncoder() { return textEncoder; }
    /** The tokenizer of {@link #textEncoder()}. */
    public ClipTokenizer tokenizer() { return tokenizer; }
    /** SDXL's second text encoder; null for SD 1.x / 2.x. */
    public ClipTextModelWithProjection textEncoder2() { return textEncoder2; }
    /** The tokenizer of {@link #textEncoder2()} (pads with 0); null for SD 1.x / 2.x. */
    public ClipTokenizer tokenizer2() { return tokenizer2; }
    public DdpmSchedule schedule() { return schedule; }

    /** Pixels per latent pixel (8 for SD). */
    public int vaeDownscale() { return checkpoint.vaeConfig().downscale(); }

    /** The VAE in {@link SdCheckpoint#vaeComputeDtype()}, loaded now if it was not (or was dropped). */
    public AutoencoderKL vae() {
        if (vae == null) {
            vae = checkpoint.loadVae(device, checkpoint.vaeComputeDtype());
            keepAll(vae.parameters());
            vaeLoads++;
        }
        return vae;
    }

    /** UNet-space latents → images (B, 3, H, W), decoded in the VAE's dtype and returned in the latents' dtype. */
    public Tensor decodeLatents(Tensor latents) {
        return vae().decode(latents.to(checkpoint.vaeComputeDtype())).to(latents.dtype());
    }

    /** Frees the VAE's weights; {@link #vae()} loads it again when needed. */
    public void dropVae() {
        if (vae != null) {
            vae.close();
            vae = null;
        }
    }

    /**
     * Encodes {@code texts} once and keeps their conditionings: {@link #encodeConditioning} returns them from
     * then on, also after {@link #dropTextEncoders}. For the prompts of in-training samples, so the frozen
     * text encoders need not stay on the device.
     */
    public void pinConditioning(Collection<String> texts, int maxTokenLength, int clipSkip) {
        try (Autograd.GradMode g = Autograd.noGrad(); Scope s = Scope.open()) {
            for (String t : texts) {
                String key = pinKey(t, maxTokenLength, clipSkip);
                if (pinned.containsKey(key)) continue;
                Conditioning c = encodeConditioning(t, maxTokenLength, clipSkip);
                pinned.put(key, new Conditioning(c.context().copy().keep(), c.pooled() == null ? null : c.pooled().copy().keep()));
            }
        }
    }

    /**
     * Frees the text encoders' weights (SDXL's two: 1.6 GiB in fp16), as kohya moves them off the GPU once their
     * outputs are cached; only {@linkplain #pinConditioning pinned} texts can be encoded afterwards. Their LoRA
     * hosts must not be used again.
     */
    public void dropTextEncoders() {
        if (textEncodersDropped) return;
        textWeights.close();
        if (textWeights2 != null) textWeights2.close();
        textEncodersDropped = true;
    }

    /** Whether {@link #dropTextEncoders} freed them. */
    public boolean textEncodersDropped() { return textEncodersDropped; }

    private static String pinKey(String text, int maxTokenLength, int clipSkip) { return maxTokenLength + "|" + clipSkip + "|" + text; }

    /** How often the VAE was loaded (tests check that it is dropped and reloaded lazily). */
    public int vaeLoads() { return vaeLoads; }

    /**
     * A prompt's text-encoder states (1, 2 + 75 n, D) for max_token_length 75 n, as kohya encodes
     * long captions; clipSkip 1 = the last layer.
     */
    public Tensor encodePrompt(String text, int maxTokenLength, int clipSkip) {
        if (textEncoder2 != null || textEncodersDropped) return encodeConditioning(text, maxTokenLength, clipSkip).context();
        return textEncoder.encodeChunks(tokenizer.encodeChunks(text, maxTokenLength), clipSkip);
    }

    /**
     * What the UNet is conditioned on for one prompt: context (1, L, D) and, for SDXL, pooled (1, P);
     * pooled is null for SD 1.x / 2.x.
     */
    public record Conditioning(Tensor context, Tensor pooled) {}

    /**
     * A prompt's conditioning. SD 1.x / 2.x: {@link #encodePrompt}'s states, no pooled. SDXL: each
     * encoder's own tokens (TE1 pads with 49407, TE2 with 0), the penultimate states without final norm
     * concatenated on the last dim, (1, L, D1 + D2) (2048 for SDXL base), and TE2's projected pooled
     * output (1, P). Long prompts are chunked per encoder as for SD 1.x and the pooled embedding is the
     * first chunk's, as kohya's {@code get_hidden_states_sdxl} ({@code pool2[::n_size]}) does.
     *
     * @param clipSkip must be 1 for SDXL: its UNet was trained on the penultimate layer of both encoders
     */
    public Conditioning encodeConditioning(String text, int maxTokenLength, int clipSkip) {
        Conditioning p = pinned.get(pinKey(text, maxTokenLength, clipSkip));
        if (p != null) return p;
        if (textEncodersDropped) {
            throw new IllegalStateException("the text encoders were freed after their outputs were cached; \"" + text + "\" was not among the cached texts");
        }
        if (textEncoder2 == null) return new Conditioning(encodePrompt(text, maxTokenLength, clipSkip), null);
        if (clipSkip != 1) {
            throw new IllegalArgumentException("clip skip " + clipSkip + " does not apply to SDXL: its UNet is conditioned on the penultimate layer of both"
                    + " text encoders; leave it at 1");
        }
        Tensor h1 = ClipTextModel.joinChunks(textEncoder.penultimateHiddenState(ids(tokenizer.encodeChunks(text, maxTokenLength))), 1);
        ClipTextModelWithProjection.Output o2 = textEncoder2.forward(ids(tokenizer2.encodeChunks(text, maxTokenLength)));
        Tensor h2 = ClipTextModel.joinChunks(o2.penultimateHiddenState(), 1);                // (1, L, D2)
        return new Conditioning(Torch.cat(List.of(h1, h2), -1), o2.textEmbeds().narrow(0, 0, 1));
    }

    /**
     * A prompt's token ids for each text encoder, chunked as {@link #encodeConditioning} chunks them:
     * (n, 77) int64 on the CPU, n chunks of 77; the second is null for SD 1.x / 2.x. With
     * {@link #encodeIds} this splits encoding into its host part and its device part (CUDA graphs).
     */
    public Tensor[] promptIds(String text, int maxTokenLength) {
        if (textEncodersDropped) throw new IllegalStateException("the text encoders were freed after their outputs were cached");
        return new Tensor[] {ids(tokenizer.encodeChunks(text, maxTokenLength)),
                textEncoder2 == null ? null : ids(tokenizer2.encodeChunks(text, maxTokenLength))};
    }

    /**
     * The conditioning of a batch of prompts from their ids, as {@link #encodeConditioning} computes it
     * prompt by prompt: ids1 (B, n, 77) (and for SDXL ids2 (B, n, 77)) on the encoders' device, {@link #promptIds}
     * stacked, every row the same number of chunks; device work only. SD 1.x / 2.x: (B, L, D), no pooled;
     * SDXL: both encoders' penultimate states side by side and TE2's pooled output of each row's first chunk.
     */
    public Conditioning encodeIds(Tensor ids1, Tensor ids2, int clipSkip) {
        long b = ids1.size(0), n = ids1.size(1), len = ids1.size(2);
        if (textEncoder2 == null) return new Conditioning(textEncoder.encodeChunks(ids1.reshape(b, n * len), clipSkip), null);
        if (clipSkip != 1) throw new IllegalArgumentException("clip skip " + clipSkip + " does not apply to SDXL; leave it at 1");
        Tensor h1 = ClipTextModel.joinChunks(textEncoder.penultimateHiddenState(ids1.reshape(b * n, len)), b);
        ClipTextModelWithProjection.Output o2 = textEncoder2.forward(ids2.reshape(b * ids2.size(1), ids2.size(2)));
        Tensor h2 = ClipTextModel.joinChunks(o2.penultimateHiddenState(), b);
        Tensor pooled = o2.textEmbeds().reshape(b, ids2.size(1), -1).select(1, 0);          // each row's first chunk
        return new Conditioning(Torch.cat(List.of(h1, h2), -1), pooled);
    }

    /**
     * The unconditional side of guidance for a negative prompt, shaped as {@code cond}. SDXL base's
     * diffusers pipeline config sets {@code force_zeros_for_empty_prompt: true}: with no negative prompt
     * the context and pooled embedding are zeros (blank counts as none, since the CLI and kohya's
     * {@code --n} write no negative prompt as ""). Every other case encodes the text, the empty prompt
     * included for SD 1.x / 2.x, as those were trained and sampled.
     */
    public Conditioning encodeNegative(String negative, int maxTokenLength, int clipSkip, Conditioning cond) {
        String text = negative == null ? "" : negative;
        if (textEncoder2 != null && text.isBlank()) {
            return new Conditioning(zerosLike(cond.context()), zerosLike(cond.pooled()));
        }
        return encodeConditioning(text, maxTokenLength, clipSkip);
    }

    private static Tensor zerosLike(Tensor t) { return Torch.zeros(t.shape(), t.dtype(), t.device()); }

    /**
     * The UNet on latents (B, C, h, w) at timesteps (B) with context (B, L, D); for a UNet with text_time
     * (SDXL) also pooled (B, P) and the time ids of an image of {@code height} x {@code width} pixels,
     * uncropped, as original and target size: diffusers' default for SDXL text to image.
     */
    public Tensor predict(Tensor latents, Tensor timesteps, Tensor context, Tensor pooled, int height, int width) {
        UNet2DConditionModel unet = unet();
        if (!unet.config().hasTextTime()) return unet.forward(latents, timesteps, context);
        if (pooled == null) throw new IllegalArgumentException("this UNet has SDXL's added conditions; pass the pooled text embedding");
        Tensor timeIds = AddedConditions.timeIds(latents.size(0), height, width, 0, 0, height, width).to(latents.device());
        return unet.forward(latents, timesteps, context, new AddedConditions(pooled, timeIds));
    }

    /** Token chunks (n, 77) as an I64 tensor; the encoders move it to their device. */
    private static Tensor ids(int[][] chunks) {
        int len = chunks[0].length;
        long[] flat = new long[chunks.length * len];
        for (int c = 0; c < chunks.length; c++) for (int i = 0; i < len; i++) flat[c * len + i] = chunks[c][i];
        return Torch.of(flat, chunks.length, len);
    }

    /**
     * Identifies the weights the text encoders come from (and their tokenizers), for cached text states: the
     * checkpoint file's path, size and time, or a diffusers folder's text_encoder[_2]/ and tokenizer[_2]/ files.
     */
    public String textEncoderIdentity() throws IOException {
        return switch (baseModel) {
            case BaseModel.Builtin b -> b + "|" + TinySdBuiltin.byName(b.name()).orElseThrow().identity();
            case BaseModel.Local l -> {
                Path p = l.path();
                if (!Files.isDirectory(p)) yield p.toAbsolutePath().normalize() + "|" + fingerprint(p);
                StringBuilder sb = new StringBuilder(p.toAbsolutePath().normalize().toString());
                for (String sub : List.of("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2")) {
                    if (Files.isDirectory(p.resolve(sub))) sb.append('|').append(sub).append(':').append(fingerprint(p.resolve(sub)));
                }
                yield sb.toString();
            }
        };
    }

    /**
     * Identifies the weights the VAE comes from, for latent cache keys: latents of another VAE (or of
     * a changed file) must not be reused.
     */
    public String vaeIdentity() throws IOException {
        return switch (baseModel) {
            case BaseModel.Builtin b -> b + "|" + TinySdBuiltin.byName(b.name()).orElseThrow().identity();
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
        if (unet != null) unet.close();
        for (Conditioning c : pinned.values()) {
            c.context().close();
            if (c.pooled() != null) c.pooled().close();
        }
        if (!textEncodersDropped) {
            textWeights.close();
            if (textWeights2 != null) textWeights2.close();
        }
        checkpoint.close();
    }
}
