package org.lorascripts.demo;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import org.lorascripts.config.SampleSampler;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.clip.ClipTextModel;
import org.lorascripts.models.sd.clip.ClipTextModelWithProjection;
import org.lorascripts.models.sd.load.LdmCheckpointWriter;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.load.TinySdBuiltin;
import org.lorascripts.models.sd.sampling.DdpmSchedule;
import org.lorascripts.models.sd.unet.AddedConditions;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.AutoencoderKL;
import org.lorascripts.models.sd.vae.VaeConfig;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Pretrains {@code builtin:tiny-sdxl} from scratch on {@link ShapeScenes}, as {@link TinySdPretrainer}
 * does for {@code builtin:tiny-sd}, but in SDXL's layout: a UNet whose first level has no attention,
 * 2 ResNets per level, deeper transformers on the lower levels, linear projections and the
 * {@code text_time} added condition; two text encoders (CLIP-L-like TE1 and OpenCLIP-bigG-like TE2
 * with a text projection) whose penultimate hidden states are concatenated into the context and whose
 * TE2 pooled projection joins the six time ids; written as an sgm single file.
 *
 * <ol>
 *   <li>The VAE is tiny-sd's, unchanged (SDXL's VAE has SD's architecture; only its weights and scaling
 *       factor differ): the images are encoded once with it.</li>
 *   <li>Both text encoders and the UNet train together: epsilon prediction on SD's schedule, a little
 *       offset noise, time ids (64, 64, 0, 0, 64, 64), and 10 % of the captions dropped to a zero
 *       context and pooled embedding, the unconditional input SDXL's pipeline uses when there is no
 *       negative prompt ({@code force_zeros_for_empty_prompt}); EMA of the weights.</li>
 *   <li>Saved in fp16 with the UNet's and VAE's diffusers configs as metadata (the tiny head counts,
 *       time-id width and norm groups are not in the shapes; the text encoders are inferred from
 *       their tensors, 64-wide heads as CLIP's); unused token-embedding rows are zero.</li>
 * </ol>
 */
public final class TinySdxlPretrainer {
    private TinySdxlPretrainer() {}

    public static final int IMAGE_SIZE = TinySdPretrainer.IMAGE_SIZE;

    /** Knobs of a run; {@link #defaults()} are the recorded settings of the shipped model. */
    public record Options(long seed, int images, int steps, int batch, double lr, double emaDecay, double captionDropout,
                          double noiseOffset, boolean bf16, double budgetSeconds) {
        public static Options defaults() {
            return new Options(20261205L, 50_000, 6000, 512, 1e-3, 0.999, 0.1, 0.05, true, 0);
        }
    }

    static final int TEXT_WIDTH = 64, TEXT_LAYERS = 3, TEXT_MLP = 256, POOLED = 64, TIME_ID_WIDTH = 16;

    /**
     * SDXL's UNet at small widths: levels (32, 64, 64) at 16, 8 and 4 latent pixels, 2 ResNets each,
     * attention on the last two (transformer depth 1, mid block 1, 32-wide heads), context 128 (TE1 64 +
     * TE2 64), added condition = pooled 64 + 6 time ids × 16.
     */
    public static UNetConfig unetConfig() {
        return new UNetConfig(4, 4, IMAGE_SIZE / 4, List.of(32, 64, 64), 2, List.of(1, 2, 2),
                List.of(UNetConfig.DOWN, UNetConfig.CROSS_DOWN, UNetConfig.CROSS_DOWN), List.of(UNetConfig.CROSS_UP, UNetConfig.CROSS_UP, UNetConfig.UP),
                2 * TEXT_WIDTH, List.of(1, 1, 1), true, 32, 1e-5, false, UNetConfig.Prediction.EPSILON,
                new UNetConfig.TextTime(TIME_ID_WIDTH, POOLED + AddedConditions.TIME_IDS * TIME_ID_WIDTH));
    }

    /** TE1: CLIP ViT-L's text tower at width 64 (one 64-wide head), 3 layers, quick GELU, pads with the end token. */
    public static ClipTextConfig te1Config() {
        return new ClipTextConfig(49408, TEXT_WIDTH, TEXT_MLP, TEXT_LAYERS, 1, 77, ClipTextConfig.Activation.QUICK_GELU, 1e-5, 49406, 49407, 49407);
    }

    /** TE2: OpenCLIP ViT-bigG's text tower at width 64, 3 layers, exact GELU, pooled at the end token (argmax), pads with 0. */
    public static ClipTextConfig te2Config() {
        return new ClipTextConfig(49408, TEXT_WIDTH, TEXT_MLP, TEXT_LAYERS, 1, 77, ClipTextConfig.Activation.GELU, 1e-5, 49406,
                ClipTextConfig.LEGACY_EOS_ID, 0);
    }

    /**
     * Runs every stage and writes {@code out}/tiny-sdxl.safetensors and, with {@code grid}, a sample grid.
     *
     * @param vaeFrom the tiny-sd checkpoint whose VAE is taken; null = the bundled builtin:tiny-sd
     */
    public static Path run(Options o, Device device, Path out, PrintStream log, boolean grid, Path vaeFrom) throws IOException {
        Files.createDirectories(out);
        Rng.manualSeed(o.seed());
        log.printf(Locale.ROOT, "tiny-sdxl: rendering %d scenes of %dx%d%n", o.images(), IMAGE_SIZE, IMAGE_SIZE);
        Path file = out.resolve("tiny-sdxl.safetensors");
        try (TinySdPretrainer.Dataset data = TinySdPretrainer.Dataset.render(o.seed(), o.images(), device);
             SdCheckpoint sd = SdCheckpointLoader.open(vaeFrom != null ? vaeFrom : TinySdBuiltin.SD.ensureCached());
             Weights vaeW = new Weights(sd.vaeWeights(), device, DType.F32);
             Weights unetW = new Weights(RandomWeights.fanIn(o.seed() + 2), device, DType.F32);
             Weights te1W = new Weights(RandomWeights.fanIn(o.seed() + 3), device, DType.F32);
             Weights te2W = new Weights(RandomWeights.fanIn(o.seed() + 4), device, DType.F32)) {
            VaeConfig vaeConfig = sd.vaeConfig();
            AutoencoderKL vae = new AutoencoderKL(vaeW, vaeConfig);
            double scaling = TinySdPretrainer.encodeLatents(vae, data, device);
            log.printf(Locale.ROOT, "tiny-sdxl: tiny-sd's VAE (scaling_factor %.5f); these latents: std %.4f%n", vaeConfig.scalingFactor(), 1 / scaling);
            // keep the VAE's own scaling factor: the latents the UNet learns are what the pipeline will give it
            rescale(data, vaeConfig.scalingFactor() / scaling);

            UNet2DConditionModel unet = new UNet2DConditionModel(unetW, unetConfig());
            ClipTextModel te1 = new ClipTextModel(te1W, te1Config());
            ClipTextModelWithProjection te2 = new ClipTextModelWithProjection(te2W, te2Config(), POOLED);
            Map<String, Tensor> all = new LinkedHashMap<>();
            unetW.loadedTensors().forEach((k, v) -> all.put("unet." + k, v));
            te1W.loadedTensors().forEach((k, v) -> all.put("te1." + k, v));
            te2W.loadedTensors().forEach((k, v) -> all.put("te2." + k, v));
            long[] steps = new long[1];
            Map<String, Tensor> trained = train(o, unet, te1, te2, all, data, device, log, steps);

            Map<String, Tensor> unetOut = new LinkedHashMap<>(), te1Out = new LinkedHashMap<>(), te2Out = new LinkedHashMap<>();
            trained.forEach((k, v) -> {
                if (k.startsWith("unet.")) unetOut.put(k.substring(5), v);
                else if (k.startsWith("te1.")) te1Out.put(k.substring(4), v);
                else te2Out.put(k.substring(4), v);
            });
            TreeSet<Integer> used = new TreeSet<>(data.usedTokens());
            TinySdPretrainer.zeroUnusedTokenRows(te1Out, used);
            used.add(0);                                                                          // TE2's padding
            TinySdPretrainer.zeroUnusedTokenRows(te2Out, used);
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("unet_config", unetConfig().toDiffusersJson());
            meta.put("vae_config", vaeConfig.toDiffusersJson());
            meta.put("lora_scripts_demo", String.format(Locale.ROOT,
                    "tiny-sdxl pretrained on %d procedural shape scenes (seed %d): UNet + both text encoders %d steps x %d; VAE of tiny-sd",
                    o.images(), o.seed(), steps[0], o.batch()));
            Map<String, Tensor> vaeTensors = vaeW.loadedTensors();
            LdmCheckpointWriter.writeSdxl(file, unetConfig(), unetOut, vaeConfig, vaeTensors, te1Out, te2Out, meta, DType.F16);
            log.println("tiny-sdxl: wrote " + file + " (" + Files.size(file) / 1024 + " KiB)");
        }
        if (grid) TinySdPretrainer.writeSampleGrid(file, device, out.resolve("tiny-sdxl-samples.png"), log, SampleSampler.EULER_A, "tiny-sdxl");
        return file;
    }

    private static void rescale(TinySdPretrainer.Dataset data, double factor) {
        try (Autograd.GradMode g = Autograd.noGrad()) {
            Tensor scaled = data.latents.mul(factor).keep();
            data.latents.close();
            data.latents = scaled;
        }
    }

    private static Map<String, Tensor> train(Options o, UNet2DConditionModel unet, ClipTextModel te1, ClipTextModelWithProjection te2,
                                             Map<String, Tensor> weights, TinySdPretrainer.Dataset data, Device device, PrintStream log, long[] steps) {
        try (Tensor alphaBar = TinySdPretrainer.alphaBars(device);
             Tensor ids0 = AddedConditions.timeIds(1, IMAGE_SIZE, IMAGE_SIZE, 0, 0, IMAGE_SIZE, IMAGE_SIZE); Tensor timeIds = ids0.to(DType.F32, device);
             FullTraining t = new FullTraining("unet+te1+te2", weights, o.lr(), 0.01, 500, o.steps(), o.emaDecay(), device, log, 250)
                     .withTimeBudget(o.budgetSeconds())) {
            while (!t.done()) {
                try (Scope s = Scope.open(); Autocast ac = TinySdPretrainer.autocast(o.bf16(), device)) {
                    long b = o.batch();
                    Tensor idx = Torch.randint(0, data.size, new long[] {b}, device);
                    Tensor x0 = data.latents.indexSelect(0, idx);                                // (B, 4, 16, 16)
                    Tensor h1 = te1.penultimateHiddenState(data.ids.indexSelect(0, idx));        // (B, 77, 64)
                    ClipTextModelWithProjection.Output o2 = te2.forward(data.ids2.indexSelect(0, idx));
                    Tensor ctx = Torch.cat(List.of(h1, o2.penultimateHiddenState()), 2);       // (B, 77, 128)
                    Tensor pooled = o2.textEmbeds();                                            // (B, 64)
                    // dropped captions: zero context and pooled, the unconditional input of SDXL's sampling
                    Tensor keep = Torch.rand(new long[] {b, 1}, DType.F32, device).ge(o.captionDropout()).to(ctx.dtype());
                    ctx = ctx.mul(keep.view(b, 1, 1));
                    pooled = pooled.mul(keep.to(pooled.dtype()));
                    Tensor noise = Torch.randn(x0.shape(), DType.F32, device);
                    noise = noise.add(Torch.randn(new long[] {b, x0.size(1), 1, 1}, DType.F32, device).mul(o.noiseOffset()));
                    Tensor ts = Torch.randint(0, DdpmSchedule.TRAIN_STEPS, new long[] {b}, device);
                    Tensor a = alphaBar.indexSelect(0, ts).view(b, 1, 1, 1);
                    Tensor noisy = x0.mul(a.sqrt()).add(noise.mul(a.rsub(1).sqrt()));
                    Tensor pred = unet.forward(noisy, ts, ctx, new AddedConditions(pooled, timeIds.expand(b, AddedConditions.TIME_IDS))).to(DType.F32);
                    t.step(pred.sub(noise).square().mean());
                }
            }
            log.printf(Locale.ROOT, "unet+te1+te2: %d steps in %.0fs%n", t.step(), t.seconds());
            steps[0] = t.step();
            Map<String, Tensor> result = new LinkedHashMap<>();
            t.result().forEach((k, v) -> result.put(k, v.detach().copy().keep()));
            return result;
        }
    }
}
