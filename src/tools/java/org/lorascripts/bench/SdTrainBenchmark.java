package org.lorascripts.bench;

import java.util.List;
import java.util.Locale;
import org.lorascripts.config.MixedPrecision;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.sd.unet.AddedConditions;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.AdamW;
import org.lorascripts.train.optim.GradScaler;

/**
 * The SD1.5 UNet LoRA training step of shared/bench/bench_sd_peft.py, on our engine: full-size
 * UNet with random weights, rank-8 LoRA on kohya's targets (attention q/k/v/out, proj_in/out,
 * feed-forward), 512x512 (64x64 latents), cached latents and text embeddings (random), fused AdamW,
 * fp16 with loss scaling or bf16, with and without gradient checkpointing. Prints one JSON line per
 * configuration in the reference's format. Usage: SdTrainBenchmark [steps=20] [warmup=5] [configuration index, 0-4: that one only]
 */
public final class SdTrainBenchmark {
    private SdTrainBenchmark() {}

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        int warm = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int only = args.length > 2 ? Integer.parseInt(args[2]) : -1;
        Device dev = Device.cuda(0);
        Cuda.setTf32(true);
        List<Runnable> configs = new java.util.ArrayList<>();
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            for (boolean ckpt : new boolean[] {false, true}) configs.add(() -> run(dev, dt, ckpt, 4, steps, warm));
        }
        configs.add(() -> run(dev, DType.F16, true, 1, steps, warm));
        runSelected(configs, only);
    }

    /**
     * All configurations, or the one at {@code only} (0-based). The device scripts run each in a process of its own:
     * in one process, 0.06-0.13 GiB of each configuration stayed allocated after it closed and counted in the next
     * configuration's peak, where the reference's next configuration starts from a freed device. 32 MiB of it is the
     * first CUDA-graph capture's: the size of libtorch's cuBLAS workspace on Hopper, kept for the capture stream; later
     * captures on that stream add nothing ({@code CudaGraphTest}, measured on an H100). The rest is not traced.
     */
    static void runSelected(List<Runnable> configs, int only) {
        if (only >= configs.size()) throw new IllegalArgumentException("configuration " + only + " of " + configs.size());
        for (int i = 0; i < configs.size(); i++) if (only < 0 || only == i) configs.get(i).run();
    }

    static void run(Device dev, DType dt, boolean ckpt, int bs, int steps, int warm) {
        run(dev, UNetConfig.sd15(), "sd15-unet", dt, ckpt, bs, 512, steps, warm);
    }

    /**
     * One configuration of any UNet: latents of {@code reso / 8}, a 77-token context of the config's
     * width and, for a UNet with the text_time condition (SDXL), random pooled text and the six time ids.
     */
    static void run(Device dev, UNetConfig config, String model, DType dt, boolean ckpt, int bs, int reso, int steps, int warm) {
        run(dev, config, model, dt, ckpt, bs, reso, steps, warm, false);
    }

    /** As above; {@code fp8} keeps the UNet blocks' weights as fp8 ({@code fp8_base}), marked {@code "fp8_base": true} in the line. */
    static void run(Device dev, UNetConfig config, String model, DType dt, boolean ckpt, int bs, int reso, int steps, int warm, boolean fp8) {
        Cuda.emptyCache();
        Cuda.resetPeakMemory(dev.index());
        Rng.manualSeed(0);
        // a scope of its own: what the configuration made outside the steps' scopes (the graph runner's buffers, the
        // optimizer's flat state) is freed before the next configuration, whose peak would otherwise include it
        try (Scope cfgScope = Scope.open();
             UNet2DConditionModel unet = UNet2DConditionModel.load(config, new RandomWeights(0).onDevice(), dev, dt, fp8);
             LoraNetwork lora = LoraNetwork.inject(unet.loraHosts(), n -> n.contains("attentions."), LoraSpec.of(8, 8), dev);
             AdamW opt = new AdamW(lora.trainableParameters(), 0.9, 0.999, 1e-8, 0.01);
             GradScaler scaler = dt == DType.F16 ? GradScaler.enabled(dev) : GradScaler.disabled()) {
            for (var a : lora.adapters().values()) a.up().detach().normal_(0, 0.01);  // as PEFT's "gaussian" init: non-zero grads everywhere
            unet.setGradientCheckpointing(ckpt);
            lora.setTraining(true);
            double weightsGib = Cuda.memory(dev.index()).map(m -> m.allocated() / (double) (1L << 30)).orElse(Double.NaN);
            long nParams = 0;
            for (var p : lora.trainableParameters()) nParams += p.tensor().numel();
            Tensor lat = Torch.randn(new long[] {bs, 4, reso / 8, reso / 8}, DType.F32, dev).keep();
            Tensor emb = Torch.randn(new long[] {bs, 77, config.crossAttentionDim()}, dt, dev).keep();
            AddedConditions cond = config.hasTextTime()
                    ? new AddedConditions(Torch.randn(new long[] {bs, config.textTime().inputDim() - (long) AddedConditions.TIME_IDS * config.textTime().timeEmbedDim()}, dt, dev).keep(),
                            AddedConditions.timeIds(bs, reso, reso, 0, 0, reso, reso).to(dev).to(dt).keep())
                    : null;
            double loss = 0;
            for (int i = 0; i < warm; i++) loss = step(unet, opt, scaler, lat, emb, cond, dt, dev);
            Cuda.synchronize(dev.index());
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) loss = step(unet, opt, scaler, lat, emb, cond, dt, dev);
            Cuda.synchronize(dev.index());
            double sec = (System.nanoTime() - t0) / 1e9 / steps;
            double peak = Cuda.memory(dev.index()).map(m -> m.peakAllocated() / (double) (1L << 30)).orElse(Double.NaN);
            double resident = Cuda.memory(dev.index()).map(m -> m.allocated() / (double) (1L << 30)).orElse(Double.NaN);
            // the SD1.5 reference prints no resolution (always 512); the SDXL one does
            String reso_ = (cond == null ? "" : String.format(Locale.ROOT, "\"reso\": %d, ", reso)) + (fp8 ? "\"fp8_base\": true, " : "");
            System.out.printf(Locale.ROOT, "{\"impl\": \"java\", \"model\": \"%s\", \"dtype\": \"%s\", \"grad_ckpt\": %s, \"batch\": %d, %s"
                            + "\"it_s\": %.3f, \"img_s\": %.2f, \"peak_gib\": %.2f, \"weights_gib\": %.2f, \"resident_gib\": %.2f, \"lora_params\": %d, \"loss\": %.6f}%n",
                    model, dt == DType.F16 ? "float16" : "bfloat16", ckpt, bs, reso_, 1 / sec, bs / sec, peak, weightsGib, resident, nParams, loss);
            final AddedConditions c = cond;
            if (GraphedStep.asked()) {
                List<Tensor> in = cond == null ? List.of(lat, emb) : List.of(lat, emb, cond.textEmbeds(), cond.timeIds());
                BenchTask task = new BenchTask(lora.trainableParameters(), in, x -> graphLoss(unet, x, dt, dev));
                try {
                    double[] r = GraphedStep.time(dev, task, opt, dt == DType.F16 ? MixedPrecision.FP16 : MixedPrecision.BF16, 1, warm, steps);
                    System.out.println(GraphedStep.json(String.format(Locale.ROOT, "%s %s ckpt=%s bs=%d", model, dt == DType.F16 ? "fp16" : "bf16", ckpt, bs),
                            r, sec, "it_s", 1));
                } catch (RuntimeException e) {
                    System.out.println("{\"cuda_graph\": \"failed\", \"error\": \"" + String.valueOf(e.getMessage()).replace('"', '\'').replace('\n', ' ') + "\"}");
                }
            }
            StepProfile.profileIfAsked(String.format(Locale.ROOT, "%s %s ckpt=%s bs=%d", model, dt == DType.F16 ? "fp16" : "bf16", ckpt, bs),
                    () -> step(unet, opt, scaler, lat, emb, c, dt, dev), dev.index(), sec);
            lat.close();
            emb.close();
            if (cond != null) {
                cond.textEmbeds().close();
                cond.timeIds().close();
            }
        }
    }

    /** The step's loss from its inputs (latents, text states[, pooled, time ids]) for the trainer's graph runner. */
    private static Tensor graphLoss(UNet2DConditionModel unet, List<Tensor> in, DType dt, Device dev) {
        Tensor lat = in.get(0), emb = in.get(1);
        AddedConditions cond = in.size() > 2 ? new AddedConditions(in.get(2), in.get(3)) : null;
        Tensor noise = Torch.randn(lat.shape(), DType.F32, dev);
        Tensor t = Torch.randint(0, 1000, new long[] {lat.size(0)}, dev);
        Tensor pred = cond == null ? unet.forward(lat.add(noise).to(dt), t, emb) : unet.forward(lat.add(noise).to(dt), t, emb, cond);
        return Functional.mseLoss(pred.to(DType.F32), noise, Functional.Reduction.MEAN);
    }

    static double step(UNet2DConditionModel unet, AdamW opt, GradScaler scaler, Tensor lat, Tensor emb, AddedConditions cond,
                               DType dt, Device dev) {
        try (Scope s = Scope.open()) {
            Tensor noise = Torch.randn(lat.shape(), DType.F32, dev);
            Tensor t = Torch.randint(0, 1000, new long[] {lat.size(0)}, dev);
            Tensor loss;
            try (Autocast ac = Autocast.enable(Device.Type.CUDA, dt)) {
                Tensor pred = cond == null ? unet.forward(lat.add(noise).to(dt), t, emb) : unet.forward(lat.add(noise).to(dt), t, emb, cond);
                loss = Functional.mseLoss(pred.to(DType.F32), noise, Functional.Reduction.MEAN);
            }
            scaler.scale(loss).backward();
            scaler.unscale(opt);
            scaler.step(opt, 1e-4);
            scaler.update();
            opt.zeroGrad();
            return loss.item();
        }
    }

}
