package org.lorascripts.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.AdamW;
import org.lorascripts.train.optim.AdamW8bit;
import org.lorascripts.train.optim.Optimizer;

/**
 * Time per step and state bytes of AdamW (fused on CUDA) and AdamW8bit (composed from tensor ops)
 * over {@code tensors} float32 parameters of {@code rows x cols}, with fixed random gradients.
 * Usage: OptimizerBenchmark [device=cuda:0] [tensors=64] [rows=1024] [cols=512] [steps=20]
 */
public final class OptimizerBenchmark {
    private OptimizerBenchmark() {}

    public static void main(String[] args) {
        Device d = Device.parse(args.length > 0 ? args[0] : "cuda:0");
        int tensors = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        long rows = args.length > 2 ? Long.parseLong(args[2]) : 1024;
        long cols = args.length > 3 ? Long.parseLong(args[3]) : 512;
        int steps = args.length > 4 ? Integer.parseInt(args[4]) : 20;
        for (String name : new String[] {"adamw", "adamw8bit"}) {
            try (Scope s = Scope.open()) {
                List<NamedParam> ps = new ArrayList<>();
                for (int i = 0; i < tensors; i++) {
                    Tensor p = Torch.randn(new long[] {rows, cols}, DType.F32, d).mul(0.02).requiresGrad_(true);
                    p.setGrad(Torch.randn(new long[] {rows, cols}, DType.F32, d).mul(1e-3));
                    ps.add(new NamedParam("p" + i, p));
                }
                try (Optimizer opt = name.equals("adamw") ? new AdamW(ps, 0.9, 0.999, 1e-8, 0.01) : new AdamW8bit(ps, 0.9, 0.999, 1e-8, 0.01)) {
                    for (int i = 0; i < 3; i++) opt.step(1e-4);
                    sync(d);
                    long t0 = System.nanoTime();
                    for (int i = 0; i < steps; i++) opt.step(1e-4);
                    sync(d);
                    double ms = (System.nanoTime() - t0) / 1e6 / steps;
                    long n = tensors * rows * cols;
                    System.out.printf(Locale.ROOT, "%-10s %s: %,d parameters in %d tensors: %.2f ms/step, state %.1f MiB (%.2f bytes/parameter)%n",
                            name, d, n, tensors, ms, opt.stateBytes() / 1048576.0, (double) opt.stateBytes() / n);
                }
            }
        }
    }

    private static void sync(Device d) {
        if (d.isCuda()) Cuda.synchronize(d.index());
    }
}
