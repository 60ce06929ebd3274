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

    private Outcome train(Path data, String name, boolean graphs, String precision) throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve(name));
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

    private void compare(String precision, double tol) throws Exception {
        assumeTrue(CudaGraph.isAvailable(), "no CUDA graphs here");
        Path data = SdTrainingFixture.images(dir.resolve("img"), 4);
        Outcome plain = train(data, "plain-" + precision, false, precision);
        Outcome graphed = train(data, "graphed-" + precision, true, precision);
        assertTrue(!graphed.console().contains("cuda_graphs: off"), graphed.console());
        assertEquals(plain.losses().size(), graphed.losses().size());
        for (int i = 0; i < plain.losses().size(); i++) {
            double a = plain.losses().get(i), b = graphed.losses().get(i);
            assertEquals(a, b, tol * Math.abs(a), "step " + (i + 1) + " loss: " + plain.losses() + " vs " + graphed.losses());
        }
        double max = 0, diff = 0;
        for (int i = 0; i < plain.weights().length; i++) {
            max = Math.max(max, Math.abs(plain.weights()[i]));
            diff = Math.max(diff, Math.abs(plain.weights()[i] - graphed.weights()[i]));
        }
        assertTrue(diff <= tol * max, "LoRA differs by " + diff + " (max |w| " + max + ")");
    }

    @Test
    void fp32StepsMatch() throws Exception { compare("no", 1e-3); }

    @Test
    void fp16StepsWithLossScalingMatch() throws Exception { compare("fp16", 2e-2); }
}
