package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * The CUDA-graph form of the SD loss (device inputs, then the loss from them) against the plain lossSum
 * under the same generator state: the same noise and timesteps, so the same value; min-SNR weighting and
 * regularization weights included (their lookups moved to the device).
 */
class SdStepInputsTest {
    @TempDir Path dir;

    private double[] both(Map<String, Object> cfg, int[] batch) {
        try (SdLoraTask task = SdTrainingFixture.task(cfg); Scope s = Scope.open()) {
            Rng.manualSeed(5);
            double plain = task.lossSum(batch, false).item();
            Rng.manualSeed(5);
            List<Tensor> in = task.stepInputs(batch);
            double graphed = task.lossSumFromInputs(in).item();
            return new double[] {plain, graphed};
        }
    }

    @Test
    void stepInputsGiveThePlainLoss() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("img"), 4);
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve("out"));
        double[] r = both(cfg, new int[] {0, 2, 3});
        assertEquals(r[0], r[1], 1e-6 * Math.abs(r[0]));
        cfg.put("min_snr_gamma", 5.0);
        cfg.put("noise_offset", 0.05);
        double[] w = both(cfg, new int[] {1, 2});
        assertEquals(w[0], w[1], 1e-6 * Math.abs(w[0]));
    }

    @Test
    void aTrainedTextEncoderRunsInsideTheStepFromTokenIds() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("img"), 4);
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve("out"));
        cfg.put("train_text_encoder", true);
        try (SdLoraTask task = SdTrainingFixture.task(cfg); Scope s = Scope.open()) {
            int[] batch = {0, 1, 3};
            Rng.manualSeed(5);
            Tensor plain = task.lossSum(batch, false);
            plain.backward();
            double[] gPlain = grads(task);
            for (var p : task.trainableParameters()) p.tensor().zeroGrad();
            Rng.manualSeed(5);
            List<Tensor> in = task.stepInputs(batch);
            assertEquals(org.lorascripts.tensor.DType.I64, in.get(2).dtype(), "token ids, not text states");
            Tensor graphed = task.lossSumFromInputs(in);
            graphed.backward();
            double[] gGraphed = grads(task);
            assertEquals(plain.item(), graphed.item(), 1e-6 * Math.abs(plain.item()));
            double max = 0;
            for (double g : gPlain) max = Math.max(max, Math.abs(g));
            assertTrue(max > 0, "the text encoder's LoRA gets gradients");
            for (int i = 0; i < gPlain.length; i++) assertEquals(gPlain[i], gGraphed[i], 1e-5 * max, "grad " + i);
        }
    }

    @Test
    void sdxlWithATrainedTextEncoderMatchesToo() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("img"), 2);
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve("out"));
        cfg.put("base_model", "builtin:tiny-sdxl");
        cfg.put("train_text_encoder", true);
        try (SdLoraTask task = SdTrainingFixture.task(cfg); Scope s = Scope.open()) {
            Rng.manualSeed(9);
            double plain = task.lossSum(new int[] {0, 1}, false).item();
            Rng.manualSeed(9);
            double graphed = task.lossSumFromInputs(task.stepInputs(new int[] {0, 1})).item();
            assertEquals(plain, graphed, 1e-6 * Math.abs(plain));
        }
    }

    private static double[] grads(SdLoraTask task) {
        List<Double> all = new java.util.ArrayList<>();
        for (var p : task.trainableParameters()) {
            Tensor g = p.tensor().grad();
            for (double d : g == null ? new double[(int) p.tensor().numel()] : g.toDoubleArray()) all.add(d);
        }
        return all.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
