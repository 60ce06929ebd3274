package org.lorascripts.models.sd.load;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.io.TensorSource;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.unet.AddedConditions;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.AutoencoderKL;
import org.lorascripts.models.sd.vae.VaeConfig;
import org.lorascripts.models.sd.clip.TinySdxlText;

/**
 * A deterministic random-weight tiny UNet with SDXL's layout, for tests: the same levels as
 * stable-diffusion-xl-base-1.0 (2 resnets per level, the first level without attention, then two
 * cross-attention levels, no downsampler after the last) at channels (32, 64, 64), transformer depth
 * per level [1, 2, 3] (mid block 3), 2 / 2 / 4 heads, text width 48, linear projections, and SDXL's
 * added condition with time ids embedded in 8 channels: a pooled text embedding of 32 + 6 x 8 = 80
 * features. LDM numbering therefore matches SDXL's ({@code input_blocks.4.1.transformer_blocks.1},
 * {@code output_blocks.2.2.conv}, {@code label_emb.0.0}).
 *
 * <p>Written as a diffusers folder ({@code unet/config.json}, {@code unet/diffusion_pytorch_model.safetensors})
 * and as an LDM single file holding the UNet under {@code model.diffusion_model.}, optionally with the
 * diffusers config as metadata {@code unet_config}; or complete (UNet, a tiny VAE with SDXL's scaling
 * factor, and {@link TinySdxlText}'s two text encoders) as an SDXL single file and diffusers folder.
 */
public final class TinySdxl {
    private TinySdxl() {}

    static final long SEED = 20240603L;
    public static final int CONTEXT = 48, POOLED = 32, TIME_ID_WIDTH = 8, TIME_IDS = 6;

    public static UNetConfig unetConfig() {
        return new UNetConfig(4, 4, 16, List.of(32, 64, 64), 2, List.of(2, 2, 4),
                List.of(UNetConfig.DOWN, UNetConfig.CROSS_DOWN, UNetConfig.CROSS_DOWN), List.of(UNetConfig.CROSS_UP, UNetConfig.CROSS_UP, UNetConfig.UP),
                CONTEXT, List.of(1, 2, 3), true, 32, 1e-5, false, UNetConfig.Prediction.EPSILON,
                new UNetConfig.TextTime(TIME_ID_WIDTH, POOLED + TIME_IDS * TIME_ID_WIDTH));
    }

    /**
     * The complete checkpoint's UNet: as {@link #unetConfig()} but conditioned on what its text encoders give,
     * a context of TE1 + TE2 width (SDXL: 768 + 1280 = 2048) and TE2's projection as the pooled embedding.
     */
    public static UNetConfig completeUnetConfig() {
        UNetConfig c = unetConfig();
        return new UNetConfig(4, 4, 16, List.of(32, 64, 64), 2, List.of(2, 2, 4),
                c.downBlockTypes(), c.upBlockTypes(), TinySdxlText.TE1_WIDTH + TinySdxlText.TE2_WIDTH, List.of(1, 2, 3), true, 32, 1e-5, false,
                UNetConfig.Prediction.EPSILON, new UNetConfig.TextTime(TIME_ID_WIDTH, TinySdxlText.TE2_PROJECTION + TIME_IDS * TIME_ID_WIDTH));
    }

    /** The UNet's tensors by diffusers name (fp32, N(0, 0.05) so that the added condition visibly moves the output). */
    static Map<String, Tensor> randomUnet(Weights w) { return randomUnet(w, unetConfig()); }

    static Map<String, Tensor> randomUnet(Weights w, UNetConfig c) {
        new UNet2DConditionModel(w, c);
        return w.loadedTensors();
    }

    private static Weights randomWeights() { return new Weights(new RandomWeights(SEED, name -> 0.05), Device.CPU, DType.F32); }

    /** The LDM single file (UNet only); with {@code embedConfig} the diffusers config as metadata unet_config. */
    public static Path writeLdm(Path file, boolean embedConfig) throws IOException {
        UNetConfig c = unetConfig();
        LdmUnetNames names = new LdmUnetNames(c);
        try (Scope s = Scope.open(); Weights w = randomWeights()) {
            SafetensorsWriter out = new SafetensorsWriter();
            out.putMetadata("format", "pt");
            if (embedConfig) out.putMetadata("unet_config", c.toDiffusersJson());
            for (var e : randomUnet(w).entrySet()) TensorIO.add(out, LdmNames.UNET_PREFIX + names.toLdm(e.getKey()), e.getValue(), DType.F32);
            out.write(file);
        }
        return file;
    }

    /** The diffusers folder: {@code unet/config.json} and {@code unet/diffusion_pytorch_model.safetensors}. */
    public static Path writeDiffusers(Path dir) throws IOException { return writeDiffusers(dir, unetConfig()); }

    private static Path writeDiffusers(Path dir, UNetConfig c) throws IOException {
        Files.createDirectories(dir.resolve("unet"));
        try (Scope s = Scope.open(); Weights w = randomWeights()) {
            TensorIO.save(dir.resolve("unet/diffusion_pytorch_model.safetensors"), randomUnet(w, c), Map.of("format", "pt"));
        }
        Files.writeString(dir.resolve("unet/config.json"), c.toDiffusersJson());
        return dir;
    }

    // ---- the complete checkpoint: UNet, VAE, both text encoders ----

    static final long VAE_SEED = SEED + 1, TEXT_SEED = SEED + 2;

    /** SD's VAE layout at channels (32, 64), 8 norm groups, with SDXL's scaling factor. */
    public static VaeConfig vaeConfig() { return new VaeConfig(3, 3, 4, List.of(32, 64), 1, 8, 16, 0.13025); }

    /** Random VAE tensors by diffusers name (another seed gives a different VAE, for separate-VAE tests). */
    static Map<String, Tensor> randomVae(Weights w) {
        new AutoencoderKL(w, vaeConfig());
        return w.loadedTensors();
    }

    static Weights vaeWeights(long seed) { return new Weights(new RandomWeights(seed), Device.CPU, DType.F32); }

    /**
     * The complete SDXL single file (UNet, VAE, TE1 and TE2 in sgm's names) in {@code dtype}, with the UNet's and
     * VAE's diffusers configs as metadata (the tiny time-id width and norm groups are not in the shapes;
     * the text encoders are inferred from their tensors).
     */
    public static Path writeCompleteLdm(Path file, DType dtype) throws IOException {
        try (Scope s = Scope.open(); Weights w = randomWeights(); Weights v = vaeWeights(VAE_SEED)) {
            List<Map<String, Tensor>> text = TinySdxlText.hfTensors(TEXT_SEED);
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("unet_config", completeUnetConfig().toDiffusersJson());
            meta.put("vae_config", vaeConfig().toDiffusersJson());
            LdmCheckpointWriter.writeSdxl(file, completeUnetConfig(), randomUnet(w, completeUnetConfig()), vaeConfig(), randomVae(v), text.get(0), text.get(1), meta, dtype);
        }
        return file;
    }

    /** The same model as a diffusers folder: unet/, vae/, text_encoder[_2]/, tokenizer[_2]/ (fp32). */
    public static Path writeCompleteDiffusers(Path dir) throws IOException {
        writeDiffusers(dir, completeUnetConfig());
        Files.createDirectories(dir.resolve("vae"));
        try (Scope s = Scope.open(); Weights v = vaeWeights(VAE_SEED)) {
            TensorIO.save(dir.resolve("vae/diffusion_pytorch_model.safetensors"), randomVae(v), Map.of("format", "pt"));
            TinySdxlText.writeDiffusers(dir, TinySdxlText.hfTensors(TEXT_SEED));
        }
        Files.writeString(dir.resolve("vae/config.json"), vaeConfig().toDiffusersJson());
        return dir;
    }

    /** The UNet of a diffusers folder, as the loader will open it: config.json, weights by diffusers name. */
    public static UNet2DConditionModel loadDiffusers(Path dir, DType dtype) throws IOException {
        UNetConfig c = UNetConfig.fromJson(Json.read(dir.resolve("unet/config.json")), "unet/config.json", UNetConfig.Prediction.EPSILON);
        TensorSource src = TensorSource.open(dir.resolve("unet/diffusion_pytorch_model.safetensors"));
        try (src) {
            return UNet2DConditionModel.load(c, new CheckpointWeights(src, "unet"), Device.CPU, dtype);
        }
    }

    /** The UNet of the LDM single file under {@code config}, weights renamed by {@link LdmUnetNames}. */
    public static UNet2DConditionModel loadLdm(Path file, UNetConfig config, DType dtype) throws IOException {
        LdmUnetNames names = new LdmUnetNames(config);
        try (TensorSource src = TensorSource.open(file)) {
            return UNet2DConditionModel.load(config, new CheckpointWeights(src, n -> {
                String ldm = names.toLdm(n);
                return ldm == null ? null : LdmNames.UNET_PREFIX + ldm;
            }, file.getFileName().toString()), Device.CPU, dtype);
        }
    }

    /** Inputs for a batch of 2 at 8x8: latents, timesteps, text states (B, 77, 48), added conditions. */
    public static Inputs inputs(DType dt) { return inputs(dt, CONTEXT, POOLED); }

    /** The same for the complete checkpoint's UNet ({@link #completeUnetConfig()}). */
    public static Inputs completeInputs(DType dt) {
        return inputs(dt, TinySdxlText.TE1_WIDTH + TinySdxlText.TE2_WIDTH, TinySdxlText.TE2_PROJECTION);
    }

    private static Inputs inputs(DType dt, int context, int pooledWidth) {
        Rng.manualSeed(11);
        Tensor latents = Torch.randn(new long[] {2, 4, 8, 8}, dt, Device.CPU);
        Tensor t = Torch.of(new long[] {999, 250});
        Tensor ctx = Torch.randn(new long[] {2, 77, context}, dt, Device.CPU);
        Tensor pooled = Torch.randn(new long[] {2, pooledWidth}, dt, Device.CPU);
        Tensor ids = Torch.cat(List.of(AddedConditions.timeIds(1, 1024, 1024, 0, 0, 1024, 1024), AddedConditions.timeIds(1, 768, 1344, 32, 64, 1024, 1024)), 0);
        return new Inputs(latents, t, ctx, new AddedConditions(pooled, ids));
    }

    public record Inputs(Tensor latents, Tensor timesteps, Tensor context, AddedConditions added) {
        public Tensor run(UNet2DConditionModel unet) { return unet.forward(latents, timesteps, context, added); }
    }

    /** Every tensor of the file with its shape, for tests that check names. */
    static Map<String, long[]> shapes(TensorSource src) throws IOException {
        Map<String, long[]> m = new LinkedHashMap<>();
        for (String n : src.names()) m.put(n, src.info(n).shape());
        return m;
    }
}
