package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.tensor.CudaGraph;
import org.lorascripts.tensor.Device;
import org.lorascripts.train.StepListener;
import org.lorascripts.train.TrainingLoop;
import org.lorascripts.train.progress.PlainLineProgress;

/**
 * CUDA only: the tiny SD model trained with cuda_graphs on and off from the same seed takes the same
 * steps (losses per step, final LoRA), in fp32 and in fp16 with loss scaling. Skipped without a GPU.
 */
class GraphedTrainingCudaTest {
    @TempDir Path dir;

    record Outcome(List<Double> losses, double[] weights, String console) {}

    private Outcome train(Path data, String name, boolean graphs, String precision, boolean trainTextEncoder) throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve(name));
        cfg.put("train_text_encoder", trainTextEncoder);
        cfg.put("device", "cuda");
        cfg.put("cuda_graphs", graphs);
        cfg.put("mixed_precision", precision);
        cfg.put("batch_size", 2);
        cfg.put("max_steps", 8);
        cfg.put("log_interval", 1);
        cfg.put("max_grad_norm", 0.05);   // clipping active, on the device in the graph
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream console = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        List<Double> losses = new ArrayList<>();
        StepListener l = new StepListener() {
            @Override public void onStep(long step, double loss, double lr, double gradNorm, boolean applied) { losses.add(loss); }
        };
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            var options = TrainingLoop.Options.defaults().withConsole(console).withListener(l)
                    .withTrackers((c, p) -> org.lorascripts.track.Tracker.NONE)
                    .withProgress((total, interval) -> new PlainLineProgress(total, interval, console, System::nanoTime));
            new TrainingLoop(TrainConfig.of(cfg), task, Device.cuda(0), options).run();
            List<Double> w = new ArrayList<>();
            for (var p : task.trainableParameters()) for (double d : p.tensor().toDoubleArray()) w.add(d);
            return new Outcome(losses, w.stream().mapToDouble(Double::doubleValue).toArray(), bytes.toString(StandardCharsets.UTF_8));
        }
    }

    /**
     * Graphed against plain, calibrated by a second plain run: the UNet's backward is not bitwise
     * deterministic on CUDA (atomic adds), and Adam turns near-zero gradient noise into whole steps, so two
     * plain runs already differ a little. The graphed run must stay within a few times that spread.
     */
    private void compare(String precision, double tol) throws Exception { compare(precision, tol, false); }

    private void compare(String precision, double tol, boolean te) throws Exception {
        assumeTrue(CudaGraph.isAvailable(), "no CUDA graphs here");
        Path data = SdTrainingFixture.images(dir.resolve("img"), 4);
        Outcome plain = train(data, "plain-" + precision, false, precision, te);
        Outcome plain2 = train(data, "plain2-" + precision, false, precision, te);
        Outcome graphed = train(data, "graphed-" + precision, true, precision, te);
        assertTrue(!graphed.console().contains("cuda_graphs: off"), graphed.console());
        assertEquals(plain.losses().size(), graphed.losses().size());
        for (int i = 0; i < plain.losses().size(); i++) {
            double a = plain.losses().get(i), b = graphed.losses().get(i);
            assertEquals(a, b, tol * Math.abs(a), "step " + (i + 1) + " loss: " + plain.losses() + " vs " + graphed.losses());
        }
        double spread = relativeDistance(plain.weights(), plain2.weights());
        double graphedDistance = relativeDistance(plain.weights(), graphed.weights());
        assertTrue(graphedDistance <= Math.max(4 * spread, tol),
                "graphed LoRA at relative distance " + graphedDistance + " from the plain one; two plain runs: " + spread);
    }

    /** |a - b| / |a| over all weights (L2). */
    private static double relativeDistance(double[] a, double[] b) {
        double d = 0, n = 0;
        for (int i = 0; i < a.length; i++) {
            d += (a[i] - b[i]) * (a[i] - b[i]);
            n += a[i] * a[i];
        }
        return Math.sqrt(d / n);
    }

    @Test
    void fp32StepsMatch() throws Exception { compare("no", 1e-3); }

    @Test
    void fp16StepsWithLossScalingMatch() throws Exception { compare("fp16", 2e-2); }

    @Test
    void aTrainedTextEncoderRunsInsideTheGraph() throws Exception { compare("fp16", 2e-2, true); }
}
