package org.lorascripts.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Profiler.MemoryEvent;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.AdamW;
import org.lorascripts.train.optim.GradScaler;

/**
 * Peak live memory of one SD UNet LoRA training step on the CPU, from libtorch's profiler with memory
 * events (needs the native layer built against a libtorch with Kineto, e.g. LIBTORCH pointing at pip's
 * torch), and the same analysis of the reference's table written by tools/memory_reference.py. The UNet is
 * SD1.5-shaped but small (block_out_channels 64,128,256,256, 2 layers per block, 8 heads, cross-attention
 * 768), random weights, rank-8 LoRA on the attention blocks' linears and projections (the targets of
 * SdTrainBenchmark), fp32, AdamW; one warm-up step, then one profiled step (forward, backward, optimizer).
 *
 * <pre>
 * SdMemoryProfile run [latent=32] [batch=2] [ckpt=false] [table.tsv]   profile our step (and save its table)
 * SdMemoryProfile analyze table.tsv [title]                             analyse a saved table (ours or the reference's)
 * SdMemoryProfile cuda [fp16|bf16] [batch=4] [ckpt=false] [table.tsv]    the full-size SD1.5 UNet step of SdTrainBenchmark
 *                                                                       (512², autocast, loss scaling in fp16) on CUDA
 * </pre>
 * The CUDA mode reports the allocator's peak too, and the live set at the peak twice: by operator, and by
 * operator and block size (which tells the saved tensors of one layer from another's).
 */
public final class SdMemoryProfile {
    private SdMemoryProfile() {}

    /** The scaled-down SD1.5 UNet both sides build. */
    static UNetConfig config() {
        return new UNetConfig(4, 4, 32, List.of(64, 128, 256, 256), 2, List.of(8, 8, 8, 8),
                List.of(UNetConfig.CROSS_DOWN, UNetConfig.CROSS_DOWN, UNetConfig.CROSS_DOWN, UNetConfig.DOWN),
                List.of(UNetConfig.UP, UNetConfig.CROSS_UP, UNetConfig.CROSS_UP, UNetConfig.CROSS_UP),
                768, 1, false, 32, 1e-5, false, UNetConfig.Prediction.EPSILON);
    }

    public static void main(String[] args) throws IOException {
        if (args.length >= 2 && args[0].equals("analyze")) {
            List<MemoryEvent> ev = MemoryEvent.parse(Files.readAllLines(Path.of(args[1])));
            System.out.print(MemoryPeak.of(ev, 0, MemoryPeak.OUTER_OP).report(args.length > 2 ? args[2] : args[1], 25));
            return;
        }
        if (args.length >= 1 && args[0].equals("cuda")) {
            cuda(args);
            return;
        }
        if (args.length == 0 || !args[0].equals("run")) {
            System.err.println("usage: SdMemoryProfile run [latent=32] [batch=2] [ckpt=false] [table.tsv] | analyze table.tsv [title]");
            System.exit(2);
        }
        int latent = args.length > 1 ? Integer.parseInt(args[1]) : 32;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        boolean ckpt = args.length > 3 && Boolean.parseBoolean(args[3]);
        Path table = args.length > 4 ? Path.of(args[4]) : null;
        List<MemoryEvent> ev = profileStep(latent, batch, ckpt);
        if (table != null) MemoryPeak.writeTable(ev, table);
        System.out.print(MemoryPeak.of(ev, 0, MemoryPeak.OUTER_OP).report(
                "ours latent=" + latent + " batch=" + batch + " ckpt=" + ckpt, 25));
    }

    private static void cuda(String[] args) throws IOException {
        DType dt = args.length > 1 && args[1].equals("bf16") ? DType.BF16 : DType.F16;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        boolean ckpt = args.length > 3 && Boolean.parseBoolean(args[3]);
        Path table = args.length > 4 ? Path.of(args[4]) : null;
        Device dev = Device.cuda(0);
        Cuda.setTf32(true);
        Cuda.emptyCache();
        Cuda.resetPeakMemory(dev.index());
        Rng.manualSeed(0);
        UNetConfig config = UNetConfig.sd15();
        String title = String.format(java.util.Locale.ROOT, "ours sd15 %s bs=%d ckpt=%s", dt == DType.F16 ? "fp16" : "bf16", batch, ckpt);
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(config, new RandomWeights(0).onDevice(), dev, dt);
             LoraNetwork lora = LoraNetwork.inject(unet.loraHosts(), n -> n.contains("attentions."), LoraSpec.of(8, 8), dev);
             AdamW opt = new AdamW(lora.trainableParameters(), 0.9, 0.999, 1e-8, 0.01);
             GradScaler scaler = dt == DType.F16 ? GradScaler.enabled(dev) : GradScaler.disabled()) {
            for (var a : lora.adapters().values()) a.up().detach().normal_(0, 0.01);
            unet.setGradientCheckpointing(ckpt);
            lora.setTraining(true);
            long weights = Cuda.memory(dev.index()).map(m -> m.allocated()).orElse(0L);
            Tensor lat = Torch.randn(new long[] {batch, 4, 64, 64}, DType.F32, dev).keep();
            Tensor emb = Torch.randn(new long[] {batch, 77, config.crossAttentionDim()}, dt, dev).keep();
            for (int i = 0; i < 3; i++) SdTrainBenchmark.step(unet, opt, scaler, lat, emb, null, dt, dev);
            MemoryPeak.Profiled r = MemoryPeak.profile(dev, () -> SdTrainBenchmark.step(unet, opt, scaler, lat, emb, null, dt, dev));
            System.out.printf(java.util.Locale.ROOT, "%s: weights %.1f MiB, resident between steps %.1f MiB, allocator peak %.1f MiB (%.3f GiB)%n",
                    title, MemoryPeak.mib(weights), MemoryPeak.mib(r.residentBefore()), MemoryPeak.mib(r.peak()), r.peak() / (double) (1L << 30));
            if (table != null) MemoryPeak.writeTable(r.events(), table);
            System.out.print(MemoryPeak.reports(r.events(), 1, title));
            lat.close();
            emb.close();
        }
    }

    /** The memory events of one training step after a warm-up step. */
    static List<MemoryEvent> profileStep(int latent, int batch, boolean ckpt) {
        Device dev = Device.CPU;
        DType dt = DType.F32;
        UNetConfig config = config();
        Rng.manualSeed(0);
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(config, new RandomWeights(0), dev, dt);
             LoraNetwork lora = LoraNetwork.inject(unet.loraHosts(), n -> n.contains("attentions."), LoraSpec.of(8, 8), dev);
             AdamW opt = new AdamW(lora.trainableParameters(), 0.9, 0.999, 1e-8, 0.01)) {
            for (var a : lora.adapters().values()) a.up().detach().normal_(0, 0.01);   // as PEFT's "gaussian" init
            unet.setGradientCheckpointing(ckpt);
            lora.setTraining(true);
            Tensor lat = Torch.randn(new long[] {batch, 4, latent, latent}, DType.F32, dev).keep();
            Tensor emb = Torch.randn(new long[] {batch, 77, config.crossAttentionDim()}, dt, dev).keep();
            step(unet, opt, lat, emb, dt, dev);
            List<MemoryEvent> ev = MemoryPeak.profile(dev, () -> step(unet, opt, lat, emb, dt, dev)).events();
            lat.close();
            emb.close();
            return ev;
        }
    }

    // SdTrainBenchmark's step without loss scaling (fp32 on the CPU)
    private static double step(UNet2DConditionModel unet, AdamW opt, Tensor lat, Tensor emb, DType dt, Device dev) {
        try (Scope s = Scope.open()) {
            Tensor noise = Torch.randn(lat.shape(), DType.F32, dev);
            Tensor t = Torch.randint(0, 1000, new long[] {lat.size(0)}, dev);
            Tensor loss;
            try (Autocast ac = dt == DType.F32 ? null : Autocast.enable(Device.Type.CPU, dt)) {
                Tensor pred = unet.forward(lat.add(noise).to(dt), t, emb);
                loss = Functional.mseLoss(pred.to(DType.F32), noise, Functional.Reduction.MEAN);
            }
            loss.backward();
            opt.step(1e-4, null);
            opt.zeroGrad();
            return loss.item();
        }
    }
}
