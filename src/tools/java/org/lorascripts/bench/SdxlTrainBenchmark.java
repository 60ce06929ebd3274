package org.lorascripts.bench;

import java.util.Locale;
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
 * The SDXL UNet LoRA training step of shared/bench/bench_sdxl_peft.py, on our engine: full-size SDXL
 * UNet (2.6 B parameters) with random weights, rank-8 LoRA on the attention modules (q/k/v/out,
 * proj_in/out, feed-forward), cached latents, a 77x2048 context, pooled text and the six time ids
 * (all random), fused AdamW, bf16 or fp16 with loss scaling, with and without gradient checkpointing.
 * The reference's configurations at 1024x1024, then fp16 + checkpointing at 512x512 batch 2 (the
 * 24 GB card setting). One JSON line per configuration in the reference's format.
 * Usage: SdxlTrainBenchmark [steps=10] [warmup=3]
 */
public final class SdxlTrainBenchmark {
    private SdxlTrainBenchmark() {}

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int warm = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Device dev = Device.cuda(0);
        Cuda.setTf32(true);
        for (DType dt : new DType[] {DType.BF16, DType.F16}) {
            for (boolean ckpt : new boolean[] {false, true}) run(dev, dt, ckpt, 1, 1024, steps, warm);
        }
        run(dev, DType.BF16, true, 4, 1024, steps, warm);
        run(dev, DType.F16, true, 2, 512, steps, warm);
    }

    static void run(Device dev, DType dt, boolean ckpt, int bs, int reso, int steps, int warm) {
        Cuda.emptyCache();
        Cuda.resetPeakMemory(dev.index());
        Rng.manualSeed(0);
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(UNetConfig.sdxl(), new RandomWeights(0).onDevice(), dev, dt);
             LoraNetwork lora = LoraNetwork.inject(unet.loraHosts(), n -> n.contains("attentions."), LoraSpec.of(8, 8), dev);
             AdamW opt = new AdamW(lora.trainableParameters(), 0.9, 0.999, 1e-8, 0.01);
             GradScaler scaler = dt == DType.F16 ? GradScaler.enabled(dev) : GradScaler.disabled()) {
            for (var a : lora.adapters().values()) a.up().detach().normal_(0, 0.01);  // as PEFT's "gaussian" init: non-zero grads everywhere
            unet.setGradientCheckpointing(ckpt);
            lora.setTraining(true);
            long nParams = 0;
            for (var p : lora.trainableParameters()) nParams += p.tensor().numel();
            Tensor lat = Torch.randn(new long[] {bs, 4, reso / 8, reso / 8}, DType.F32, dev).keep();
            Tensor emb = Torch.randn(new long[] {bs, 77, 2048}, dt, dev).keep();
            AddedConditions cond = new AddedConditions(Torch.randn(new long[] {bs, 1280}, dt, dev).keep(),
                    AddedConditions.timeIds(bs, reso, reso, 0, 0, reso, reso).to(dev).to(dt).keep());
            double loss = 0;
            for (int i = 0; i < warm; i++) loss = step(unet, opt, scaler, lat, emb, cond, dt, dev);
            Cuda.synchronize(dev.index());
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) loss = step(unet, opt, scaler, lat, emb, cond, dt, dev);
            Cuda.synchronize(dev.index());
            double sec = (System.nanoTime() - t0) / 1e9 / steps;
            double peak = Cuda.memory(dev.index()).map(m -> m.peakAllocated() / (double) (1L << 30)).orElse(Double.NaN);
            System.out.printf(Locale.ROOT, "{\"impl\": \"java\", \"model\": \"sdxl-unet\", \"dtype\": \"%s\", \"grad_ckpt\": %s, \"batch\": %d, \"reso\": %d, "
                            + "\"it_s\": %.3f, \"img_s\": %.2f, \"peak_gib\": %.2f, \"lora_params\": %d, \"loss\": %.6f}%n",
                    dt == DType.F16 ? "float16" : "bfloat16", ckpt, bs, reso, 1 / sec, bs / sec, peak, nParams, loss);
            lat.close();
            emb.close();
            cond.textEmbeds().close();
            cond.timeIds().close();
        }
    }

    private static double step(UNet2DConditionModel unet, AdamW opt, GradScaler scaler, Tensor lat, Tensor emb, AddedConditions cond,
                               DType dt, Device dev) {
        try (Scope s = Scope.open()) {
            Tensor noise = Torch.randn(lat.shape(), DType.F32, dev);
            Tensor t = Torch.randint(0, 1000, new long[] {lat.size(0)}, dev);
            Tensor loss;
            try (Autocast ac = Autocast.enable(Device.Type.CUDA, dt)) {
                Tensor pred = unet.forward(lat.add(noise).to(dt), t, emb, cond);
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
