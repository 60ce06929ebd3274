package org.lorascripts.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.lorascripts.tensor.Profiler;

/**
 * A training step's GPU time split by kind of kernel (GEMM, convolution, attention, norms,
 * softmax/cross-entropy, optimizer, elementwise, copies/casts, reductions), the kernel count and
 * the share of the step the GPU was busy, from profiler events (ours, through {@link Profiler}, or
 * PyTorch's, through tools/profile_reference.py, in the same tab-separated form: name, device,
 * activity, start ns, duration ns). Usage: StepProfile (LABEL STEPS EVENTS.tsv WALL_S_PER_STEP)... (wall 0: not known).
 */
public final class StepProfile {
    private StepProfile() {}

    /** Categories in matching order: the first whose pattern finds a match in the lower-case kernel name wins. */
    static final Map<String, Pattern> CATEGORIES = new LinkedHashMap<>();
    static {
        CATEGORIES.put("attention", Pattern.compile("flash|fmha|attention|sdpa|cudnn_?mha|mha_"));
        CATEGORIES.put("conv", Pattern.compile("conv|fprop|dgrad|wgrad|winograd|implicit_?gemm|cudnn"));
        CATEGORIES.put("gemm", Pattern.compile("gemm|cutlass|xmma|cublas|nvjet|sm\\d\\d_|matmul|splitk"));
        CATEGORIES.put("norm", Pattern.compile("norm"));
        CATEGORIES.put("softmax_ce", Pattern.compile("softmax|nll|cross_entropy|logsumexp"));
        CATEGORIES.put("optimizer", Pattern.compile("adam|multi_tensor|foreach|amp_|_fused_sgd"));
        CATEGORIES.put("copy_cast", Pattern.compile("memcpy|memset|copy|cast|catarray|cat_|fill|index|gather|scatter|embedding"));
        CATEGORIES.put("reduce", Pattern.compile("reduce|sum|mean"));
        CATEGORIES.put("elementwise", Pattern.compile("elementwise|vectorized|unrolled|pointwise|triton"));
    }

    static String category(String kernel) {
        String n = kernel.toLowerCase(Locale.ROOT);
        for (var e : CATEGORIES.entrySet()) if (e.getValue().matcher(n).find()) return e.getKey();
        return "other";
    }

    public record Summary(String label, int steps, double gpuMsPerStep, double busyFraction, double kernelsPerStep,
                          double cpuOpsPerStep, Map<String, Double> msPerStep, List<Map.Entry<String, Double>> topKernels) {
        public String toJson(double wallSecondsPerStep) {
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "{\"profile\": \"%s\", \"steps\": %d, \"gpu_ms_per_step\": %.2f, \"gpu_busy\": %.3f, "
                    + "\"kernels_per_step\": %.0f, \"cpu_ops_per_step\": %.0f", label, steps, gpuMsPerStep, busyFraction, kernelsPerStep, cpuOpsPerStep));
            if (wallSecondsPerStep > 0) b.append(String.format(Locale.ROOT, ", \"wall_ms_per_step\": %.2f", wallSecondsPerStep * 1e3));
            b.append(", \"ms_per_step\": {");
            String sep = "";
            for (var e : msPerStep.entrySet()) { b.append(sep).append(String.format(Locale.ROOT, "\"%s\": %.2f", e.getKey(), e.getValue())); sep = ", "; }
            b.append("}, \"top_kernels_ms\": [");
            sep = "";
            for (var e : topKernels) {
                String name = e.getKey().length() > 90 ? e.getKey().substring(0, 90) : e.getKey();
                b.append(sep).append(String.format(Locale.ROOT, "[\"%s\", %.2f]", name.replace("\\", "\\\\").replace("\"", "'"), e.getValue()));
                sep = ", ";
            }
            return b.append("]}").toString();
        }
    }

    public static Summary summarise(String label, List<Profiler.Event> events, int steps) {
        Map<String, Double> byCat = new LinkedHashMap<>();
        for (String c : CATEGORIES.keySet()) byCat.put(c, 0.0);
        byCat.put("other", 0.0);
        Map<String, Double> byKernel = new LinkedHashMap<>();
        List<long[]> spans = new ArrayList<>();
        long gpuNs = 0, kernels = 0, cpuOps = 0;
        for (Profiler.Event e : events) {
            if (!e.onGpu()) {
                if (e.name().startsWith("aten::")) cpuOps++;
                continue;
            }
            kernels++;
            gpuNs += e.durationNs();
            byCat.merge(category(e.name()), e.durationNs() / 1e6 / steps, Double::sum);
            byKernel.merge(e.name(), e.durationNs() / 1e6 / steps, Double::sum);
            spans.add(new long[] {e.startNs(), e.startNs() + e.durationNs()});
        }
        spans.sort(Comparator.comparingLong(s -> s[0]));
        long union = 0, curS = -1, curE = -1, first = Long.MAX_VALUE, last = Long.MIN_VALUE;
        for (long[] s : spans) {
            first = Math.min(first, s[0]);
            last = Math.max(last, s[1]);
            if (s[0] > curE) { if (curE > curS) union += curE - curS; curS = s[0]; curE = s[1]; } else curE = Math.max(curE, s[1]);
        }
        if (curE > curS) union += curE - curS;
        double busy = spans.isEmpty() || last <= first ? 0 : union / (double) (last - first);
        byCat.replaceAll((k, v) -> Math.round(v * 100) / 100.0);
        List<Map.Entry<String, Double>> top = byKernel.entrySet().stream()
                .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(12).map(e -> Map.entry(e.getKey(), e.getValue())).toList();
        return new Summary(label, steps, gpuNs / 1e6 / steps, busy, kernels / (double) steps, cpuOps / (double) steps, byCat, top);
    }

    /**
     * When LORA_BENCH_PROFILE is set (to a number of steps, default 3), runs that many more steps
     * under the profiler and prints the breakdown as one JSON line; {@code wallSeconds} is the
     * unprofiled step time measured before.
     */
    public static void profileIfAsked(String label, Runnable step, int device, double wallSeconds) {
        String env = System.getenv("LORA_BENCH_PROFILE");
        if (env == null || env.isBlank()) return;
        if (!Profiler.isAvailable()) {
            System.err.println("profile: this native layer has no profiler");
            return;
        }
        int n = env.matches("\\d+") ? Integer.parseInt(env) : 3;
        org.lorascripts.tensor.Cuda.synchronize(device);
        List<Profiler.Event> events;
        try (Profiler p = Profiler.start(true)) {
            for (int i = 0; i < n; i++) step.run();
            org.lorascripts.tensor.Cuda.synchronize(device);
            events = p.stop(null);
        }
        System.out.println(summarise(label, events, n).toJson(wallSeconds));
    }

    static List<Profiler.Event> read(Path tsv) throws IOException {
        List<Profiler.Event> events = new ArrayList<>();
        for (String line : Files.readAllLines(tsv)) {
            String[] f = line.split("\t", -1);
            if (f.length != 5) continue;
            events.add(new Profiler.Event(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4])));
        }
        return events;
    }

    public static void main(String[] args) throws IOException {
        for (int i = 0; i + 3 < args.length; i += 4) {
            double wall = Double.parseDouble(args[i + 3]);
            System.out.println(summarise(args[i], read(Path.of(args[i + 2])), Integer.parseInt(args[i + 1])).toJson(wall));
        }
    }
}
