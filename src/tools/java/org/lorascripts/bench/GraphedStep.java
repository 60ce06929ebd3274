package org.lorascripts.bench;

import java.util.Locale;
import java.util.function.Supplier;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.CudaGraph;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/**
 * The benchmark's training step captured as one CUDA graph and replayed (LORA_BENCH_GRAPH=1):
 * what the step costs without host work per kernel. The body must keep its loss in a tensor that
 * outlives it and read nothing back to the host; the figure is printed beside the plain one.
 */
final class GraphedStep {
    private GraphedStep() {}

    static boolean asked() {
        String env = System.getenv("LORA_BENCH_GRAPH");
        return env != null && !env.isBlank() && !env.equals("0");
    }

    /** Captures {@code body}, replays it {@code warm} then {@code steps} times; returns {seconds per step, last loss}. */
    static double[] time(Device dev, Runnable body, Supplier<Tensor> loss, int warm, int steps) {
        try (CudaGraph g = CudaGraph.capture(dev, 2, body)) {
            for (int i = 0; i < warm; i++) g.replay();
            Cuda.synchronize(dev.index());
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) g.replay();
            Cuda.synchronize(dev.index());
            double sec = (System.nanoTime() - t0) / 1e9 / steps;
            return new double[] {sec, loss.get().item()};
        }
    }

    static String json(String config, double[] r, double plainSeconds, String unit, double perStep) {
        return String.format(Locale.ROOT, "{\"impl\": \"java\", \"cuda_graph\": true, \"config\": \"%s\", \"%s\": %.3f, \"speedup_vs_plain\": %.3f, \"loss\": %.6f}",
                config, unit, perStep / r[0], plainSeconds / r[0], r[1]);
    }
}
