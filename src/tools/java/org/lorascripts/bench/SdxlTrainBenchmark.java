package org.lorascripts.bench;

import java.util.ArrayList;
import java.util.List;

import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;

/**
 * The SDXL UNet LoRA training step of shared/bench/bench_sdxl_peft.py, on our engine: full-size SDXL
 * UNet (2.6 B parameters) with random weights, rank-8 LoRA on the attention modules (q/k/v/out,
 * proj_in/out, feed-forward), cached latents, a 77x2048 context, pooled text and the six time ids
 * (all random), fused AdamW, bf16 or fp16 with loss scaling, with and without gradient checkpointing.
 * The reference's configurations at 1024x1024, then fp16 + checkpointing at 512x512 batch 2 (the
 * 24 GB card setting); then both checkpointed fp16 ones with the UNet blocks' weights as fp8 ({@code fp8_base}, ours
 * only: the reference has no such setting, so their memory compares with its 16-bit runs). One JSON line per
 * configuration in the reference's format.
 * Usage: SdxlTrainBenchmark [steps=10] [warmup=3] [configuration index, 0-7: that one only]
 */
public final class SdxlTrainBenchmark {
    private SdxlTrainBenchmark() {}

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int warm = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        int only = args.length > 2 ? Integer.parseInt(args[2]) : -1;
        Device dev = Device.cuda(0);
        Cuda.setTf32(true);
        List<Runnable> configs = new ArrayList<>();
        for (DType dt : new DType[] {DType.BF16, DType.F16}) {
            for (boolean ckpt : new boolean[] {false, true}) configs.add(() -> run(dev, dt, ckpt, 1, 1024, steps, warm));
        }
        configs.add(() -> run(dev, DType.BF16, true, 4, 1024, steps, warm));
        configs.add(() -> run(dev, DType.F16, true, 2, 512, steps, warm));
        configs.add(() -> SdTrainBenchmark.run(dev, UNetConfig.sdxl(), "sdxl-unet", DType.F16, true, 1, 1024, steps, warm, true));
        configs.add(() -> SdTrainBenchmark.run(dev, UNetConfig.sdxl(), "sdxl-unet", DType.F16, true, 2, 512, steps, warm, true));
        SdTrainBenchmark.runSelected(configs, only);
    }

    private static void run(Device dev, DType dt, boolean ckpt, int bs, int reso, int steps, int warm) {
        SdTrainBenchmark.run(dev, UNetConfig.sdxl(), "sdxl-unet", dt, ckpt, bs, reso, steps, warm);
    }
}
