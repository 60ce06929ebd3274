package org.lorascripts.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Engine benchmark: bf16 matmul throughput from Java and the per-op overhead of a small elementwise
 * op, next to python3 PyTorch eager doing the same in the same run (bench/engine_reference.py).
 * Usage: EngineBenchmark [device=cuda:0] [matmul_n=8192] [reference_script=bench/engine_reference.py]
 * Prints one JSON line per measurement and the Java/PyTorch ratio.
 */
public final class EngineBenchmark {
    private EngineBenchmark() {}

    public static void main(String[] args) throws Exception {
        Device dev = Device.parse(args.length > 0 ? args[0] : (Cuda.isAvailable() ? "cuda:0" : "cpu"));
        int n = args.length > 1 ? Integer.parseInt(args[1]) : (dev.isCuda() ? 8192 : 512);
        Path ref = Path.of(args.length > 2 ? args[2] : "bench/engine_reference.py");
        DType dt = dev.isCuda() ? DType.BF16 : DType.F32;

        double tflops = matmulTflops(dev, dt, n, dev.isCuda() ? 50 : 3);
        System.out.printf(Locale.ROOT, "{\"impl\":\"java\",\"bench\":\"matmul\",\"dtype\":\"%s\",\"n\":%d,\"tflops\":%.1f}%n", dt.displayName(), n, tflops);
        double[] small = smallOpMicros(dev, dev.isCuda() ? 20000 : 20000);
        System.out.printf(Locale.ROOT, "{\"impl\":\"java\",\"bench\":\"small_op\",\"add_us\":%.2f,\"add_inplace_us\":%.2f}%n", small[0], small[1]);

        if (Files.exists(ref)) {
            String py = runReference(ref, dev, n);
            System.out.print(py);
            double pyAdd = field(py, "small_op", "add_us"), pyInplace = field(py, "small_op", "add_inplace_us"), pyTflops = field(py, "matmul", "tflops");
            System.out.printf(Locale.ROOT, "{\"summary\":true,\"matmul_tflops_java\":%.1f,\"matmul_tflops_torch\":%.1f,"
                    + "\"small_add_us_java\":%.2f,\"small_add_us_torch\":%.2f,\"small_add_ratio\":%.2f,"
                    + "\"inplace_add_us_java\":%.2f,\"inplace_add_us_torch\":%.2f,\"inplace_add_ratio\":%.2f}%n",
                    tflops, pyTflops, small[0], pyAdd, small[0] / pyAdd, small[1], pyInplace, small[1] / pyInplace);
        } else {
            System.out.println("{\"note\":\"reference script " + ref + " not found; PyTorch comparison skipped\"}");
        }
    }

    static double matmulTflops(Device dev, DType dt, int n, int iters) {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.randn(new long[] {n, n}, dt, dev);
            Tensor b = Torch.randn(new long[] {n, n}, dt, dev);
            for (int i = 0; i < 3; i++) a.mm(b).close();
            sync(dev);
            long t0 = System.nanoTime();
            for (int i = 0; i < iters; i++) a.mm(b).close();
            sync(dev);
            double sec = (System.nanoTime() - t0) / 1e9;
            return 2.0 * n * (double) n * n * iters / sec / 1e12;
        }
    }

    /** Microseconds per small add (new result tensor) and per in-place add, launch-bound on a GPU. */
    static double[] smallOpMicros(Device dev, int iters) {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.randn(new long[] {1024}, DType.F32, dev);
            Tensor b = Torch.randn(new long[] {1024}, DType.F32, dev);
            double add = 0, inplace = 0;
            for (int round = 0; round < 2; round++) {  // first round warms up the JIT
                sync(dev);
                long t0 = System.nanoTime();
                for (int i = 0; i < iters; i++) a.add(b).close();
                sync(dev);
                add = (System.nanoTime() - t0) / 1e3 / iters;
                t0 = System.nanoTime();
                for (int i = 0; i < iters; i++) a.add_(b);
                sync(dev);
                inplace = (System.nanoTime() - t0) / 1e3 / iters;
            }
            return new double[] {add, inplace};
        }
    }

    private static void sync(Device dev) {
        if (dev.isCuda()) Cuda.synchronize(dev.index());
    }

    private static String runReference(Path script, Device dev, int n) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("python3", script.toString(), dev.toString(), Integer.toString(n))
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) throw new IOException("reference failed:\n" + out);
        return out;
    }

    /** Reads a number from the JSON line with "bench":"<bench>" (the lines are flat and ours). */
    private static double field(String lines, String bench, String key) {
        for (String line : lines.split("\n")) {
            if (!line.contains("\"bench\":\"" + bench + "\"") && !line.contains("\"bench\": \"" + bench + "\"")) continue;
            int i = line.indexOf("\"" + key + "\"");
            if (i < 0) continue;
            String rest = line.substring(line.indexOf(':', i) + 1).trim();
            int end = 0;
            while (end < rest.length() && "0123456789.eE+-".indexOf(rest.charAt(end)) >= 0) end++;
            return Double.parseDouble(rest.substring(0, end));
        }
        return Double.NaN;
    }
}
