package org.lorascripts.demo;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.SampleSampler;
import org.lorascripts.io.PngWriter;
import org.lorascripts.models.sd.vae.AutoencoderKL;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.clip.ClipTextModel;
import org.lorascripts.models.sd.sampling.DdpmSchedule;
import org.lorascripts.models.sd.load.LdmCheckpointWriter;
import org.lorascripts.models.sd.load.LdmNames;
import org.lorascripts.models.sd.sampling.SdImageGenerator;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
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
import org.lorascripts.text.clip.ClipTokenizer;

/**
 * Pretrains {@code builtin:tiny-sd} from scratch on {@link ShapeScenes}: a small SD 1.x model (CLIP
 * text encoder, UNet, VAE with the real SD 1.x layout and key names) that draws what its prompt
 * says, so the quickstart can show a LoRA learning a style.
 *
 * <ol>
 *   <li>Render {@code images} scenes (64×64) and tokenize their captions.</li>
 *   <li>VAE: L1 reconstruction + a small KL term (SD's recipe without the perceptual and GAN terms,
 *       which flat shapes do not need), on the same images.</li>
 *   <li>Encode every image once (the posterior mean); the scaling factor is 1 / std of those
 *       latents, as SD's 0.18215 was chosen.</li>
 *   <li>Text encoder and UNet together, epsilon prediction with SD's noise schedule and a little
 *       offset noise, 10 % empty captions (for classifier-free guidance), EMA of the weights.</li>
 *   <li>Save an LDM single file in fp16 with the diffusers configs as metadata; rows of the token
 *       embedding that no caption uses are zero (they were never trained, and zeros compress).</li>
 * </ol>
 */
public final class TinySdPretrainer {
    private TinySdPretrainer() {}

    public static final int IMAGE_SIZE = 64;

    /** Knobs of a run; {@link #defaults()} are the recorded settings of the shipped model. */
    public record Options(long seed, int images, int vaeSteps, int vaeBatch, double vaeLr, int unetSteps, int unetBatch,
                          double unetLr, double emaDecay, double captionDropout, double noiseOffset, boolean bf16, double budgetSeconds) {
        public static Options defaults() {
            return new Options(20261204L, 50_000, 1874, 256, 1e-3, 4825, 512, 1e-3, 0.999, 0.1, 0.05, true, 0);
        }
    }

    /** SD 1.x's UNet at small widths: 3 levels (64, 96, 96), cross-attention on the first two; 3.7 M parameters. */
    public static UNetConfig unetConfig() {
        return new UNetConfig(4, 4, IMAGE_SIZE / 4, List.of(64, 96, 96), 1, List.of(4, 4, 4),
                List.of(UNetConfig.CROSS_DOWN, UNetConfig.CROSS_DOWN, UNetConfig.DOWN),
                List.of(UNetConfig.UP, UNetConfig.CROSS_UP, UNetConfig.CROSS_UP),
                TEXT_WIDTH, 1, false, 32, 1e-5, false, UNetConfig.Prediction.EPSILON);
    }

    /** SD's VAE at small widths: 3 levels (32, 64, 64), so 64×64 images become 4×16×16 latents; 1 M parameters. */
    public static VaeConfig vaeConfig(double scalingFactor) {
        return new VaeConfig(3, 3, 4, List.of(32, 64, 64), 1, 32, IMAGE_SIZE, scalingFactor);
    }

    static final int TEXT_WIDTH = 64, TEXT_LAYERS = 3, TEXT_HEADS = 4, TEXT_MLP = 256;

    /** CLIP ViT-L's text tower at width 64, 3 layers (the real 49408-token vocabulary and 77 positions). */
    public static ClipTextConfig textConfig() {
        return new ClipTextConfig(49408, TEXT_WIDTH, TEXT_MLP, TEXT_LAYERS, TEXT_HEADS, 77, ClipTextConfig.Activation.QUICK_GELU,
                1e-5, 49406, ClipTextConfig.LEGACY_EOS_ID, 49407);
    }

    /** transformers' CLIPTextConfig JSON of {@link #textConfig()}. */
    static String textConfigJson() {
        ClipTextConfig c = textConfig();
        return String.format(Locale.ROOT, """
                {
                  "architectures": ["CLIPTextModel"],
                  "attention_dropout": 0.0,
                  "bos_token_id": 0,
                  "eos_token_id": 2,
                  "hidden_act": "quick_gelu",
                  "hidden_size": %d,
                  "initializer_factor": 1.0,
                  "initializer_range": 0.02,
                  "intermediate_size": %d,
                  "layer_norm_eps": 1e-05,
                  "max_position_embeddings": %d,
                  "model_type": "clip_text_model",
                  "num_attention_heads": %d,
                  "num_hidden_layers": %d,
                  "pad_token_id": 1,
                  "projection_dim": %d,
                  "vocab_size": %d
                }
                """, c.hidden(), c.intermediate(), c.maxPositions(), c.heads(), c.layers(), c.hidden(), c.vocabSize());
    }

    /** Runs every stage and writes {@code out}/tiny-sd.safetensors and, with {@code grid}, a sample grid. */
    public static Path run(Options o, Device device, Path out, PrintStream log, boolean grid) throws IOException {
        Files.createDirectories(out);
        Rng.manualSeed(o.seed());
        log.printf(Locale.ROOT, "tiny-sd: rendering %d scenes of %dx%d%n", o.images(), IMAGE_SIZE, IMAGE_SIZE);
        Dataset data = Dataset.render(o.seed(), o.images(), device);
        Path file = out.resolve("tiny-sd.safetensors");
        try (data;
             Weights vaeW = new Weights(RandomWeights.fanIn(o.seed() + 1), device, DType.F32);
             Weights unetW = new Weights(RandomWeights.fanIn(o.seed() + 2), device, DType.F32);
             Weights textW = new Weights(RandomWeights.fanIn(o.seed() + 3), device, DType.F32)) {
            AutoencoderKL vae = new AutoencoderKL(vaeW, vaeConfig(1.0));
            long[] steps = new long[2];
            Map<String, Tensor> vaeWeights = trainVae(o, vae, vaeW.loadedTensors(), data, device, log, steps);
            double scaling = encodeLatents(vae, data, device);
            log.printf(Locale.ROOT, "tiny-sd: latent std %.4f -> scaling_factor %.5f%n", 1 / scaling, scaling);

            UNet2DConditionModel unet = new UNet2DConditionModel(unetW, unetConfig());
            ClipTextModel text = new ClipTextModel(textW, textConfig());
            Map<String, Tensor> all = new LinkedHashMap<>();
            unetW.loadedTensors().forEach((k, v) -> all.put("unet." + k, v));
            textW.loadedTensors().forEach((k, v) -> all.put("text." + k, v));
            Map<String, Tensor> trained = trainUnet(o, unet, text, all, data, device, log, steps);

            Map<String, Tensor> unetOut = new LinkedHashMap<>(), textOut = new LinkedHashMap<>();
            trained.forEach((k, v) -> {
                if (k.startsWith("unet.")) unetOut.put(k.substring(5), v);
                else textOut.put(k.substring(5), v);
            });
            zeroUnusedTokenRows(textOut, data.usedTokens());
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("unet_config", unetConfig().toDiffusersJson());
            meta.put("vae_config", vaeConfig(scaling).toDiffusersJson());
            meta.put("text_encoder_config", textConfigJson());
            meta.put("lora_scripts_demo", String.format(Locale.ROOT,
                    "tiny-sd pretrained on %d procedural shape scenes (seed %d): VAE %d steps x %d, UNet + text encoder %d steps x %d",
                    o.images(), o.seed(), steps[0], o.vaeBatch(), steps[1], o.unetBatch()));
            LdmCheckpointWriter.write(file, unetConfig(), unetOut, vaeConfig(scaling), vaeWeights, LdmNames.CLIP_PREFIX, textOut, meta, DType.F16);
            log.println("tiny-sd: wrote " + file + " (" + Files.size(file) / 1024 + " KiB)");
        }
        if (grid) writeSampleGrid(file, device, out.resolve("tiny-sd-samples.png"), log);
        return file;
    }

    // ---- data ----

    /** Rendered images (N, 3, 64, 64) uint8 and caption ids (N, 77) on the device; latents once encoded. */
    static final class Dataset implements AutoCloseable {
        final Tensor pixels;
        final Tensor ids;
        /** The same captions as SDXL's second tokenizer pads them: 0 ("!") after the end token instead of 49407. */
        final Tensor ids2;
        final Tensor emptyIds;
        final int size;
        final TreeSet<Integer> tokens;
        Tensor latents;

        private Dataset(Tensor pixels, Tensor ids, Tensor ids2, Tensor emptyIds, int size, TreeSet<Integer> tokens) {
            this.pixels = pixels;
            this.ids = ids;
            this.ids2 = ids2;
            this.emptyIds = emptyIds;
            this.size = size;
            this.tokens = tokens;
        }

        static Dataset render(long seed, int n, Device device) {
            int s = IMAGE_SIZE;
            byte[] all = new byte[n * 3 * s * s];
            long[] ids = new long[n * 77], ids2 = new long[n * 77];
            ClipTokenizer tok = ClipTokenizer.bundled();
            TreeSet<Integer> used = new TreeSet<>();
            List<int[]> encoded = new ArrayList<>(n);
            String[] captions = new String[n];
            IntStream.range(0, n).parallel().forEach(i -> {
                ShapeScenes.Scene sc = ShapeScenes.scene(seed, i);
                captions[i] = sc.caption();
                byte[] hwc = ShapeScenes.render(sc, s, ShapeScenes.Style.PLAIN);
                int base = i * 3 * s * s;
                for (int p = 0; p < s * s; p++) {
                    for (int c = 0; c < 3; c++) all[base + c * s * s + p] = hwc[p * 3 + c];   // HWC → CHW
                }
            });
            for (int i = 0; i < n; i++) encoded.add(tok.encodeForModel(captions[i]));
            for (int i = 0; i < n; i++) {
                int[] e = encoded.get(i);
                boolean ended = false;
                for (int j = 0; j < 77; j++) {
                    ids[i * 77 + j] = e[j];
                    ids2[i * 77 + j] = ended ? 0 : e[j];
                    ended |= e[j] == 49407;                                          // <|endoftext|>
                    used.add(e[j]);
                }
            }
            int[] empty = tok.encodeForModel("");
            long[] emptyL = new long[77];
            for (int j = 0; j < 77; j++) emptyL[j] = empty[j];
            Tensor px, idT, id2T, emptyT;
            try (Tensor cpu = Torch.ofBytes(all, n, 3, s, s); Tensor cpuIds = Torch.of(ids, n, 77); Tensor cpuIds2 = Torch.of(ids2, n, 77);
                 Tensor cpuEmpty = Torch.of(emptyL, 1, 77)) {
                px = cpu.to(DType.U8, device).keep();
                idT = cpuIds.to(DType.I64, device).keep();
                id2T = cpuIds2.to(DType.I64, device).keep();
                emptyT = cpuEmpty.to(DType.I64, device).keep();
            }
            return new Dataset(px, idT, id2T, emptyT, n, used);
        }

        /** Images {@code idx} as f32 in [-1, 1]. */
        Tensor images(Tensor idx) {
            return pixels.indexSelect(0, idx).to(DType.F32).div(127.5).sub(1);
        }

        TreeSet<Integer> usedTokens() { return tokens; }

        @Override public void close() {
            pixels.close();
            ids.close();
            ids2.close();
            emptyIds.close();
            if (latents != null) latents.close();
        }
    }

    // ---- stages ----

    private static Map<String, Tensor> trainVae(Options o, AutoencoderKL vae, Map<String, Tensor> weights, Dataset data, Device device,
                                                PrintStream log, long[] steps) {
        try (FullTraining t = new FullTraining("vae", weights, o.vaeLr(), 0.0, 200, o.vaeSteps(), 0.0, device, log, 250)
                .withTimeBudget(o.budgetSeconds() * 0.25)) {
            while (!t.done()) {
                try (Scope s = Scope.open(); Autocast ac = autocast(o, device)) {
                    Tensor idx = Torch.randint(0, data.size, new long[] {o.vaeBatch()}, device);
                    Tensor x = data.images(idx);                                                  // (B, 3, 64, 64)
                    AutoencoderKL.LatentDistribution d = vae.encode(x);                           // (B, 4, 16, 16) each
                    Tensor z = d.sample(Torch.randn(d.mean().shape(), DType.F32, device));
                    Tensor recon = vae.decodeRaw(z).to(DType.F32);
                    Tensor l1 = recon.sub(x).abs().mean();
                    Tensor mean = d.mean().to(DType.F32), logvar = d.logvar().to(DType.F32);
                    // KL(q || N(0, 1)) summed over latent elements, averaged over the batch
                    Tensor kl = mean.square().add(logvar.exp()).sub(1).sub(logvar).sum().mul(0.5 / o.vaeBatch());
                    t.step(l1.add(kl.mul(1e-6)));
                }
            }
            log.printf(Locale.ROOT, "vae: %d steps in %.0fs%n", t.step(), t.seconds());
            steps[0] = t.step();
            return t.result();
        }
    }

    /** Encodes every image to its posterior mean; returns the scaling factor 1 / std and stores scaled latents. */
    static double encodeLatents(AutoencoderKL vae, Dataset data, Device device) {
        List<Tensor> parts = new ArrayList<>();
        try (Autograd.GradMode g = Autograd.noGrad(); Scope s = Scope.open()) {
            for (int start = 0; start < data.size; start += 512) {
                int n = Math.min(512, data.size - start);
                try (Scope chunk = Scope.open()) {                                            // free each chunk's activations at once
                    Tensor idx = Torch.arange(start, start + n, 1, DType.I64, device);
                    parts.add(chunk.moveToOuter(vae.encode(data.images(idx)).mean().to(DType.F32)));
                }
            }
            Tensor raw = Torch.cat(parts, 0);                                                     // (N, 4, 16, 16)
            double std = raw.to(DType.F64).var(new long[] {0, 1, 2, 3}, true, false).sqrt().item();
            double scaling = Math.round(1e5 / std) / 1e5;
            data.latents = raw.mul(scaling).keep();
            return scaling;
        }
    }

    private static Map<String, Tensor> trainUnet(Options o, UNet2DConditionModel unet, ClipTextModel text, Map<String, Tensor> weights,
                                                 Dataset data, Device device, PrintStream log, long[] steps) {
        try (Tensor alphaBar = alphaBars(device);
             FullTraining t = new FullTraining("unet+text", weights, o.unetLr(), 0.01, 500, o.unetSteps(), o.emaDecay(), device, log, 250)
                     .withTimeBudget(o.budgetSeconds() * 0.75)) {
            while (!t.done()) {
                try (Scope s = Scope.open(); Autocast ac = autocast(o, device)) {
                    long b = o.unetBatch();
                    Tensor idx = Torch.randint(0, data.size, new long[] {b}, device);
                    Tensor x0 = data.latents.indexSelect(0, idx);                                // (B, 4, 16, 16)
                    Tensor ids = data.ids.indexSelect(0, idx);                                   // (B, 77)
                    Tensor drop = Torch.rand(new long[] {b, 1}, DType.F32, device).lt(o.captionDropout());
                    ids = Torch.where(drop, data.emptyIds.expand(b, 77), ids);
                    Tensor ctx = text.forward(ids, 1).lastHiddenState();                        // (B, 77, 64)
                    Tensor noise = Torch.randn(x0.shape(), DType.F32, device);
                    // offset noise (a per-image, per-channel constant): lets the model move an image's mean
                    // colour, which SD's schedule otherwise barely can (plain backgrounds come out washed out)
                    noise = noise.add(Torch.randn(new long[] {b, x0.size(1), 1, 1}, DType.F32, device).mul(o.noiseOffset()));
                    Tensor ts = Torch.randint(0, DdpmSchedule.TRAIN_STEPS, new long[] {b}, device);
                    Tensor a = alphaBar.indexSelect(0, ts).view(b, 1, 1, 1);                     // no host round trip
                    Tensor noisy = x0.mul(a.sqrt()).add(noise.mul(a.rsub(1).sqrt()));
                    Tensor pred = unet.forward(noisy, ts, ctx).to(DType.F32);
                    t.step(pred.sub(noise).square().mean());
                }
            }
            log.printf(Locale.ROOT, "unet+text: %d steps in %.0fs%n", t.step(), t.seconds());
            steps[1] = t.step();
            Map<String, Tensor> result = new LinkedHashMap<>();
            t.result().forEach((k, v) -> result.put(k, v.detach().copy().keep()));
            return result;
        }
    }

    /** SD's training noise schedule: alpha-bar of every timestep, f32 on {@code device}. */
    static Tensor alphaBars(Device device) {
        DdpmSchedule schedule = new DdpmSchedule();
        double[] ab = new double[DdpmSchedule.TRAIN_STEPS];
        for (int i = 0; i < ab.length; i++) ab[i] = schedule.alphaBar(i);
        try (Tensor cpu = Torch.of(ab, ab.length)) {
            return cpu.to(DType.F32, device);
        }
    }

    static void zeroUnusedTokenRows(Map<String, Tensor> text, TreeSet<Integer> used) {
        String name = "text_model.embeddings.token_embedding.weight";
        Tensor emb = text.get(name);
        long vocab = emb.size(0);
        float[] mask = new float[(int) vocab];
        for (int id : used) mask[id] = 1;
        try (Autograd.GradMode g = Autograd.noGrad(); Scope s = Scope.open(); Tensor m = Torch.of(mask, vocab, 1)) {
            emb.mul_(m.to(DType.F32, emb.device()));
        }
    }

    static Autocast autocast(Options o, Device device) { return autocast(o.bf16(), device); }

    static Autocast autocast(boolean bf16, Device device) {
        return bf16 && device.isCuda() ? Autocast.enable(device.type(), DType.BF16) : null;
    }

    // ---- samples ----

    /** Prompts of the sample grid: one per row, four seeds per row. */
    static final List<String> GRID_PROMPTS = List.of(
            "a red circle on a blue background", "a yellow star on a black background", "two green squares on a white background",
            "a large purple triangle on a yellow background", "a small white ring on a red background, at the top",
            "three orange diamonds on a grey background", "a blue cross on a pink background, on the left", "a cyan circle");

    static void writeSampleGrid(Path checkpoint, Device device, Path png, PrintStream log) throws IOException {
        writeSampleGrid(checkpoint, device, png, log, SampleSampler.DDIM, "tiny-sd");
    }

    /** The grid of {@link #GRID_PROMPTS} × four seeds, 25 steps at CFG 5 with {@code sampler}. */
    static void writeSampleGrid(Path checkpoint, Device device, Path png, PrintStream log, SampleSampler sampler, String label) throws IOException {
        int s = IMAGE_SIZE, cols = 4, rows = GRID_PROMPTS.size();
        byte[] grid = new byte[rows * s * cols * s * 3];
        try (SdPipeline p = SdPipeline.open(new BaseModel.Local(checkpoint), null, device, DType.F32)) {
            SdImageGenerator gen = new SdImageGenerator(p, 75, 1);
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    byte[] rgb;
                    try (Scope sc = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
                        Tensor img = gen.generate(new SdImageGenerator.Request(GRID_PROMPTS.get(r), "", s, s, 25, 5.0, sampler, 1000 + c));
                        rgb = img.select(0, 0).to(DType.F32, Device.CPU).add(1).div(2).clamp(0, 1).mul(255).round()
                                .permute(1, 2, 0).contiguous().to(DType.U8).toByteArray();      // (H, W, 3)
                    }
                    for (int y = 0; y < s; y++) System.arraycopy(rgb, y * s * 3, grid, ((r * s + y) * cols * s + c * s) * 3, s * 3);
                }
            }
        }
        PngWriter.write(png, grid, cols * s, rows * s, PngWriter.Channels.RGB);
        log.println(label + ": sample grid " + png + " (rows: " + String.join(" | ", GRID_PROMPTS) + ")");
    }
}
