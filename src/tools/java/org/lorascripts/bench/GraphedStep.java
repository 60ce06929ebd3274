package org.lorascripts.bench;

import java.util.List;
import java.util.Locale;
import org.lorascripts.config.MixedPrecision;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.Device;
import org.lorascripts.train.GraphedSteps;
import org.lorascripts.train.Precision;
import org.lorascripts.train.optim.GradScaler;
import org.lorascripts.train.optim.Optimizer;

/**
 * The benchmark's step through the trainer's CUDA-graph runner ({@link GraphedSteps}: capture once,
 * replay; clipping norm, inf check and the fused AdamW with a tensor learning rate on the device), as
 * cuda_graphs: true trains. Off with LORA_BENCH_GRAPH=0.
 */
final class GraphedStep {
    private GraphedStep() {}

    static boolean asked() {
        String env = System.getenv("LORA_BENCH_GRAPH");
        return env == null || !env.equals("0");
    }

    /**
     * Times {@code steps} graphed steps after {@code warm}; returns {seconds per step, last loss, peak GiB
     * allocated from the first step on (the eager step and the capture, whose allocations the graph's pool then
     * keeps; replays allocate nothing), GiB reserved after the replays (the pool included)}.
     */
    static double[] time(Device dev, BenchTask task, Optimizer opt, MixedPrecision mode, double weight, int warm, int steps) {
        Precision precision = Precision.of(mode, dev);
        try (GradScaler scaler = precision.newScaler();
             GraphedSteps g = new GraphedSteps(task, precision, opt, scaler, 0, dev, System.err)) {
            List<int[]> micro = List.of(new int[] {0});
            String why = GraphedSteps.unsupported(dev, opt);
            if (why != null) throw new IllegalStateException(why);
            GraphedSteps.Result r = null;
            Cuda.synchronize(dev.index());
            Cuda.resetPeakMemory(dev.index());
            for (int i = 0; i < warm || r == null; i++) {
                r = g.step(micro, weight, 1e-4);
                if (i > warm + 3) throw new IllegalStateException("the step was never captured");
            }
            Cuda.synchronize(dev.index());
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) r = g.step(micro, weight, 1e-4);
            Cuda.synchronize(dev.index());
            double sec = (System.nanoTime() - t0) / 1e9 / steps;
            double peak = Cuda.memory(dev.index()).map(m -> m.peakAllocated() / (double) (1L << 30)).orElse(Double.NaN);
            double reserved = Cuda.memory(dev.index()).map(m -> m.reserved() / (double) (1L << 30)).orElse(Double.NaN);
            return new double[] {sec, r.lossSum() / weight, peak, reserved};
        }
    }

    static String json(String config, double[] r, double plainSeconds, String unit, double perStep) {
        return String.format(Locale.ROOT, "{\"impl\": \"java\", \"cuda_graph\": true, \"config\": \"%s\", \"%s\": %.3f, \"speedup_vs_plain\": %.3f, \"peak_gib\": %.2f, \"reserved_gib\": %.2f, \"loss\": %.6f}",
                config, unit, perStep / r[0], plainSeconds / r[0], r[2], r.length > 3 ? r[3] : Double.NaN, r[1]);
    }
}
