package org.lorascripts.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import org.lorascripts.ffi.AutogradApi;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.ffi.DeviceOutOfMemoryException;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.LossScaling;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.AdamW;
import org.lorascripts.nn.NamedParam;

/**
 * Checks every CUDA path of the engine on a GPU machine (CI has no GPU): op results against the
 * CPU, autograd, autocast, loss scaling, checkpointing (backward on libtorch's device threads),
 * memory statistics, out-of-memory mapping, RNG and the fused AdamW kernel. Prints one line per
 * check and "N passed, M failed"; exits 1 on any failure.
 */
public final class CudaSelfCheck {
    private final Device gpu;
    private int passed, failed;

    private CudaSelfCheck(Device gpu) { this.gpu = gpu; }

    public static void main(String[] args) {
        if (!Cuda.isAvailable()) {
            System.out.println("CUDA is not available; nothing to check");
            System.exit(2);
        }
        CudaSelfCheck c = new CudaSelfCheck(Device.cuda(0));
        c.runAll();
        System.out.printf("%d passed, %d failed%n", c.passed, c.failed);
        System.exit(c.failed == 0 ? 0 : 1);
    }

    private void check(String name, Runnable r) {
        try (Scope s = Scope.open()) {
            r.run();
            passed++;
        } catch (Throwable t) {
            failed++;
            System.out.println("FAIL " + name + ": " + t);
        }
    }

    private static void require(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    private void report(String name, String detail) { System.out.println("PASS " + name + " " + detail); }

    /** max |gpu(f(x)) - cpu(f(x))| over inputs drawn once on the CPU. */
    private void parity(String name, double tol, long[][] shapes, Function<List<Tensor>, Tensor> f) {
        check(name, () -> {
            Rng.manualSeed(5);
            List<Tensor> cpu = new ArrayList<>();
            for (long[] s : shapes) cpu.add(Torch.randn(s, DType.F32, Device.CPU));
            List<Tensor> gpuIn = new ArrayList<>();
            for (Tensor t : cpu) gpuIn.add(t.to(gpu));
            Tensor a = f.apply(cpu), b = f.apply(gpuIn).to(Device.CPU).to(a.dtype());
            double diff = a.sub(b).abs().amax().item();
            double scale = Math.max(1, a.abs().amax().item());
            require(diff <= tol * scale, "max abs diff " + diff + " > " + tol * scale);
            report(name, String.format(Locale.ROOT, "max_abs_diff=%.2e", diff));
        });
    }

    private void runAll() {
        check("devices", () -> {
            String info = Cuda.deviceInfo(0).map(d -> d.name() + ", " + d.totalMemory() / (1L << 30) + " GiB").orElse("(no device info)");
            require(Cuda.deviceCount() >= 1, "no devices");
            report("devices", Cuda.deviceCount() + " x " + info + ", bf16=" + Cuda.isBf16Supported());
        });
        parity("matmul", 1e-4, new long[][] {{64, 96}, {96, 32}}, in -> in.get(0).matmul(in.get(1)));
        parity("linear", 1e-4, new long[][] {{8, 64}, {32, 64}, {32}}, in -> Functional.linear(in.get(0), in.get(1), in.get(2)));
        // cuDNN convolutions may use TF32 by default: a looser tolerance
        parity("conv2d", 5e-3, new long[][] {{2, 8, 16, 16}, {16, 4, 3, 3}, {16}}, in -> Functional.conv2d(in.get(0), in.get(1), in.get(2), 1, 1, 2));
        parity("group_norm", 1e-4, new long[][] {{2, 8, 5, 5}, {8}, {8}}, in -> Functional.groupNorm(in.get(0), 4, in.get(1), in.get(2), 1e-5));
        parity("layer_norm", 1e-4, new long[][] {{4, 32}, {32}, {32}}, in -> Functional.layerNorm(in.get(0), new long[] {32}, in.get(1), in.get(2), 1e-5));
        parity("rms_norm", 1e-4, new long[][] {{4, 32}, {32}}, in -> Functional.rmsNorm(in.get(0), in.get(1), 1e-6));
        parity("softmax_gelu_silu", 1e-5, new long[][] {{4, 33}}, in -> in.get(0).softmax(-1).add(in.get(0).gelu()).add(in.get(0).geluTanh()).add(in.get(0).silu()));
        parity("sdpa_causal", 1e-4, new long[][] {{2, 4, 16, 32}, {2, 4, 16, 32}, {2, 4, 16, 32}},
                in -> Functional.scaledDotProductAttention(in.get(0), in.get(1), in.get(2), null, 0, true, 0));
        parity("interpolate_bicubic_aa", 1e-4, new long[][] {{1, 3, 32, 32}},
                in -> Functional.interpolate(in.get(0), 12, 20, Functional.Interpolation.BICUBIC, false, true));
        long[] targets = {3, 7, 49, -100, 0, 12, 12, 30, 1, 2, 44, -100, 5, 6, 9, 10};
        parity("cross_entropy", 1e-5, new long[][] {{16, 50}}, in -> Functional.crossEntropy(in.get(0),
                Torch.of(targets).to(in.get(0).device()), Functional.Reduction.MEAN, -100, 0.1));
        check("sdpa_fused_vs_composed_bf16", () -> {
            Rng.manualSeed(1);
            Tensor q = Torch.randn(new long[] {2, 8, 128, 64}, DType.BF16, gpu), k = Torch.randn(new long[] {2, 8, 128, 64}, DType.BF16, gpu),
                    v = Torch.randn(new long[] {2, 8, 128, 64}, DType.BF16, gpu);
            Tensor a = Functional.scaledDotProductAttention(q, k, v, null, 0, true, 0).to(DType.F32);
            Tensor b = Functional.attentionComposed(q.to(DType.F32), k.to(DType.F32), v.to(DType.F32), null, true, 0);
            double diff = a.sub(b).abs().amax().item();
            require(diff < 3e-2, "diff " + diff);
            report("sdpa_fused_vs_composed_bf16", String.format(Locale.ROOT, "fused=%s max_abs_diff=%.2e", Functional.hasFusedAttention(), diff));
        });
        check("autograd", () -> {
            Rng.manualSeed(2);
            Tensor xc = Torch.randn(new long[] {8, 16}, DType.F32, Device.CPU), wc = Torch.randn(new long[] {4, 16}, DType.F32, Device.CPU);
            Tensor w1 = wc.detach().requiresGrad_(true), w2 = wc.to(gpu).detach().requiresGrad_(true);
            Functional.linear(xc, w1, null).tanh().sum().backward();
            Functional.linear(xc.to(gpu), w2, null).tanh().sum().backward();
            double diff = w1.grad().sub(w2.grad().to(Device.CPU)).abs().amax().item();
            require(diff < 1e-4, "grad diff " + diff);
            report("autograd", String.format(Locale.ROOT, "grad max_abs_diff=%.2e", diff));
        });
        check("autocast", () -> {
            Tensor x = Torch.randn(new long[] {8, 16}, DType.F32, gpu), w = Torch.randn(new long[] {4, 16}, DType.F32, gpu);
            try (Autocast a = Autocast.enable(Device.Type.CUDA, DType.F16)) {
                require(Functional.linear(x, w, null).dtype() == DType.F16, "fp16 autocast");
                require(x.softmax(-1).dtype() == DType.F32, "softmax stays f32 under autocast");
            }
            try (Autocast a = Autocast.enable(Device.Type.CUDA, DType.BF16)) {
                require(Functional.linear(x, w, null).dtype() == DType.BF16, "bf16 autocast");
            }
            require(!Autocast.isEnabled(Device.Type.CUDA) && Functional.linear(x, w, null).dtype() == DType.F32, "restored");
            report("autocast", "fp16 and bf16 regions cast linear, keep softmax f32, restore on close");
        });
        check("loss_scaling", () -> {
            Tensor g = Torch.of(new float[] {2, 4}).to(gpu), bad = Torch.of(new float[] {1, Float.POSITIVE_INFINITY}).to(gpu);
            Tensor found = Torch.zeros(new long[] {1}, DType.F32, gpu);
            LossScaling.unscale(List.of(g), found, Torch.of(new float[] {0.5f}).to(gpu));
            require(found.item() == 0 && g.to(Device.CPU).toFloatArray()[1] == 2f, "unscale");
            LossScaling.unscale(List.of(bad), found, Torch.of(new float[] {0.5f}).to(gpu));
            require(found.item() == 1, "inf detected");
            Tensor scale = Torch.full(new long[] {1}, 1024, DType.F32, gpu), tracker = Torch.zeros(new long[] {1}, DType.I32, gpu);
            LossScaling.updateScale(scale, tracker, found, 2, 0.5, 2000);
            require(scale.item() == 512, "backoff");
            report("loss_scaling", "fused CUDA kernels: unscale, inf detection, backoff");
        });
        check("checkpoint", this::checkpointCheck);
        check("adamw_cpu_vs_cuda", this::adamwDevicesAgree);
        check("memory_stats", () -> {
            Cuda.synchronize(0);
            long before = Cuda.memory(0).orElseThrow().allocated();
            Tensor big = Torch.empty(new long[] {256L << 20}, DType.F32, gpu);  // 1 GiB
            long after = Cuda.memory(0).orElseThrow().allocated();
            require(after - before >= (1L << 30), "allocated grew by " + (after - before));
            big.close();
            report("memory_stats", "allocated +" + ((after - before) >> 20) + " MiB for a 1 GiB tensor");
        });
        check("out_of_memory", () -> {
            try {
                Torch.empty(new long[] {1L << 40}, DType.F32, gpu);  // 4 TiB
                throw new AssertionError("no exception");
            } catch (DeviceOutOfMemoryException e) {
                require(e.getMessage().contains("batch_size"), "hint");
                report("out_of_memory", "DeviceOutOfMemoryException: " + e.getMessage().lines().findFirst().orElse(""));
            }
        });
        check("rng", () -> {
            Rng.manualSeed(gpu, 7);
            float[] a = Torch.randn(new long[] {8}, DType.F32, gpu).toFloatArray();
            Rng.manualSeed(gpu, 7);
            float[] b = Torch.randn(new long[] {8}, DType.F32, gpu).toFloatArray();
            require(java.util.Arrays.equals(a, b), "seeded randn repeats");
            Tensor st = Rng.getState(gpu);
            float[] c = Torch.rand(new long[] {8}, DType.F32, gpu).toFloatArray();
            Rng.setState(gpu, st);
            require(java.util.Arrays.equals(c, Torch.rand(new long[] {8}, DType.F32, gpu).toFloatArray()), "state restore");
            report("rng", "per-device seed and state round trip");
        });
        check("fused_adamw", () -> {
            require(AutogradApi.hasFusedAdamW(), "libtorch lacks _fused_adamw_");
            Tensor p = Torch.of(new float[] {1, -2}).to(gpu), g = Torch.of(new float[] {0.5f, -0.25f}).to(gpu);
            Tensor m = Torch.zeros(new long[] {2}, DType.F32, gpu), v = Torch.zeros(new long[] {2}, DType.F32, gpu);
            Tensor step = Torch.zeros(new long[] {1}, DType.F32, gpu);
            AutogradApi.fusedAdamW_(new long[] {p.handle()}, new long[] {g.handle()}, new long[] {m.handle()}, new long[] {v.handle()},
                    new long[] {step.handle()}, 0.1, 0.9, 0.999, 0.01, 1e-8, 0, 0);
            // step 1: p *= 1 - lr*wd; m̂ = g, v̂ = g²: p -= lr * g / (|g| + eps)
            float[] r = p.to(Device.CPU).toFloatArray();
            double e0 = 1 * (1 - 0.001) - 0.1 * Math.signum(0.5), e1 = -2 * (1 - 0.001) - 0.1 * Math.signum(-0.25);
            require(Math.abs(r[0] - e0) < 1e-5 && Math.abs(r[1] - e1) < 1e-5, "got " + r[0] + ", " + r[1]);
            report("fused_adamw", "one step equals the AdamW formula");
        });
    }

    /** The optimizer on CUDA (fused kernel) against the same steps on the CPU (composed ops). */
    private void adamwDevicesAgree() {
        float[][] result = new float[2][];
        for (int mode = 0; mode < 2; mode++) {
            Device d = mode == 0 ? Device.CPU : gpu;
            try (Scope s = Scope.open()) {
                Rng.manualSeed(8);
                Tensor p = Torch.randn(new long[] {32, 16}, DType.F32, Device.CPU).to(d).detach().requiresGrad_(true);
                Tensor g0 = Torch.randn(new long[] {32, 16}, DType.F32, Device.CPU);
                try (AdamW opt = new AdamW(List.of(new NamedParam("w", p)), 0.9, 0.999, 1e-8, 0.01)) {
                    for (int step = 1; step <= 3; step++) {
                        p.setGrad(g0.mul(step).to(d));
                        opt.step(1e-3 * step);
                    }
                }
                result[mode] = p.to(Device.CPU).toFloatArray();
            }
        }
        double diff = 0;
        for (int i = 0; i < result[0].length; i++) diff = Math.max(diff, Math.abs(result[0][i] - result[1][i]));
        require(diff < 1e-6, "cpu vs cuda AdamW differ by " + diff);
        report("adamw_cpu_vs_cuda", String.format(Locale.ROOT, "3 steps, fused=%s, max_abs_diff=%.2e", AutogradApi.hasFusedAdamW(), diff));
    }

    private void checkpointCheck() {
        double[][] grads = new double[2][];
        long[] peak = new long[2];
        for (int mode = 0; mode < 2; mode++) {
            boolean ckpt = mode == 1;
            try (Scope s = Scope.open()) {
                Rng.manualSeed(3);
                Tensor x = Torch.randn(new long[] {64, 512}, DType.F32, gpu).requiresGrad_(true);
                Tensor w1 = Torch.randn(new long[] {4096, 512}, DType.F32, gpu).mul(0.02).detach().requiresGrad_(true);
                Tensor w2 = Torch.randn(new long[] {512, 4096}, DType.F32, gpu).mul(0.02).detach().requiresGrad_(true);
                Cuda.synchronize(0);
                Cuda.resetPeakMemory(0);
                long base = Cuda.memory(0).orElseThrow().allocated();
                Tensor h = x;
                Rng.manualSeed(gpu, 4);
                for (int i = 0; i < 8; i++) {
                    Function<Tensor, Tensor> block = t -> t.add(Functional.linear(Functional.dropout(Functional.linear(t, w1, null).gelu(), 0.1, true), w2, null));
                    h = ckpt ? Checkpoint.apply(in -> List.of(block.apply(in.get(0))), List.of(h), List.of(w1, w2), 1).get(0) : block.apply(h);
                }
                long held = Cuda.memory(0).orElseThrow().allocated() - base;
                h.pow(2).mean().backward();
                Cuda.synchronize(0);
                peak[mode] = held;
                grads[mode] = w1.grad().to(Device.CPU).flatten().narrow(0, 0, 4096).toDoubleArray();
            }
        }
        double diff = 0;
        for (int i = 0; i < grads[0].length; i++) diff = Math.max(diff, Math.abs(grads[0][i] - grads[1][i]));
        require(diff < 1e-5, "checkpointed grads differ by " + diff);
        require(peak[1] < peak[0] / 2, "held " + peak[1] + " vs " + peak[0]);
        report("checkpoint", String.format(Locale.ROOT, "grad max_abs_diff=%.2e, held between forward and backward %d MiB vs %d MiB plain",
                diff, peak[1] >> 20, peak[0] >> 20));
    }
}
