package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.models.sd.sampling.DdpmSchedule;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * kohya's noise and loss options (train_util.get_noise_noisy_latents_and_timesteps, custom_train_functions): the loss
 * equals the one made by hand from the same random draws in kohya's order, timesteps stay in their range, and the
 * per-timestep weights follow kohya's formulas.
 */
class DiffusionObjectiveTest {
    private static final DdpmSchedule SCHEDULE = new DdpmSchedule();

    private static TrainConfig.Diffusion opts(boolean offsetRandom, double adaptive, double ip, boolean ipRandom, int minT, int maxT,
                                              boolean scaleV, double vLike, boolean debiased) {
        return new TrainConfig.Diffusion(offsetRandom, adaptive, ip, ipRandom, minT, maxT, scaleV, vLike, debiased, 0, 0.3);
    }

    /** A denoiser that is a fixed function of its input (so the loss depends on the noisy latents) and records the timesteps. */
    private static DiffusionObjective.Denoiser recording(List<Tensor> timesteps) {
        return (noisy, t) -> {
            timesteps.add(t);
            return noisy.mul(0.5);
        };
    }

    @Test
    void noiseOffsetStrengthsAndInputPerturbationAreKohyas() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(1);
            Tensor latents = Torch.randn(new long[] {3, 4, 5, 6}, DType.F32, Device.CPU).add(0.3);
            double offset = 0.1, adaptive = 0.5, gamma = 0.2;
            DiffusionObjective objective = new DiffusionObjective(SCHEDULE, false, offset, 0,
                    opts(true, adaptive, gamma, true, 100, 300, false, 0, false));
            List<Tensor> seen = new ArrayList<>();
            Rng.manualSeed(42);
            Tensor loss = objective.perExampleLoss(latents, recording(seen));
            // by hand, the same draws in kohya's order: noise, offset strength, offset, timesteps, perturbation strength, perturbation
            Rng.manualSeed(42);
            Tensor noise = Torch.randn(latents.shape(), DType.F32, Device.CPU);
            Tensor strength = Torch.rand(new long[] {1}, DType.F32, Device.CPU).mul(offset);
            strength = latents.mean(new long[] {2, 3}, true).abs().mul(adaptive).add(strength).clampMin(0);
            noise = noise.add(Torch.randn(new long[] {3, 4, 1, 1}, DType.F32, Device.CPU).mul(strength));
            Tensor t = Torch.randint(100, 300, new long[] {3}, Device.CPU);
            Tensor ip = Torch.rand(new long[] {1}, DType.F32, Device.CPU).mul(gamma);
            Tensor noisy = SCHEDULE.addNoise(latents, noise.add(Torch.randn(latents.shape(), DType.F32, Device.CPU).mul(ip)), t);
            Tensor expected = noisy.mul(0.5).sub(noise).square().mean(new long[] {1, 2, 3}, false);   // the target is the noise without the perturbation
            assertTrue(loss.sub(expected).abs().amax().item() < 1e-6, "loss " + loss.sub(expected).abs().amax().item());
            assertEquals(0, seen.get(0).sub(t).abs().amax().item(), "the same timesteps");
        }
    }

    @Test
    void timestepsStayInTheirRange() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(2);
            Tensor latents = Torch.randn(new long[] {64, 4, 2, 2}, DType.F32, Device.CPU);
            List<Tensor> seen = new ArrayList<>();
            new DiffusionObjective(SCHEDULE, false, 0, 0, opts(false, 0, 0, false, 700, 710, false, 0, false))
                    .perExampleLoss(latents, recording(seen));
            long[] t = seen.get(0).toLongArray();
            long lo = Long.MAX_VALUE, hi = Long.MIN_VALUE;
            for (long v : t) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            assertTrue(lo >= 700 && hi <= 709 && hi > lo, "timesteps " + lo + ".." + hi);
            assertThrows(IllegalArgumentException.class, () -> new DiffusionObjective(SCHEDULE, false, 0, 0,
                    opts(false, 0, 0, false, 500, 500, false, 0, false)));
        }
    }

    @Test
    void perTimestepWeightsAreKohyas() {
        for (int t : new int[] {0, 1, 20, 500, 999}) {
            double snr = SCHEDULE.snr(t), capped = Math.min(snr, 1000), scale = capped / (capped + 1);
            // epsilon: min-SNR (5), then debiased estimation
            double w = new DiffusionObjective(SCHEDULE, false, 0, 5, opts(false, 0, 0, false, 0, 1000, false, 0, true)).snrWeight(t);
            assertEquals(Math.min(snr, 5) / snr / Math.sqrt(capped), w, 1e-12 * Math.max(1, w), "t " + t);
            // v-prediction: scaled like noise prediction, the v-prediction-like term, debiased 1/(snr+1)
            w = new DiffusionObjective(SCHEDULE, true, 0, 0, opts(false, 0, 0, false, 0, 1000, true, 0.3, true)).snrWeight(t);
            assertEquals(scale * (1 + 0.3 / scale) / (capped + 1), w, 1e-12 * Math.max(1, w), "t " + t);
            assertEquals(1.0, new DiffusionObjective(SCHEDULE, true, 0, 0).snrWeight(t), "no weighting asked");
        }
        assertTrue(SCHEDULE.snr(0) > 1000, "the cap matters at t = 0: snr " + SCHEDULE.snr(0));
    }

    @Test
    void theKeysReachTheObjectiveAndARangeTheWrongWayRoundIsAnError() {
        TrainConfig c = TrainConfig.of(Map.of("base_model", "builtin:tiny-sd", "train_data_dir", "data", "ip_noise_gamma", 0.1,
                "ip_noise_gamma_random_strength", true, "min_timestep", 50, "max_timestep", 900, "debiased_estimation_loss", true,
                "noise_offset", 0.05, "noise_offset_random_strength", true, "adaptive_noise_scale", 0.01));
        assertEquals(opts(true, 0.01, 0.1, true, 50, 900, false, 0, true), c.loop().diffusion());
        c = TrainConfig.of(Map.of("base_model", "builtin:tiny-sd", "train_data_dir", "data", "multires_noise_iterations", 6));
        assertEquals(6, c.loop().diffusion().multiresNoiseIterations());
        assertEquals(0.3, c.loop().diffusion().multiresNoiseDiscount(), "kohya's default discount");
        Exception e = assertThrows(RuntimeException.class, () -> TrainConfig.of(Map.of("base_model", "builtin:tiny-sd",
                "train_data_dir", "data", "min_timestep", 600, "max_timestep", 600)));
        assertTrue(e.getMessage().contains("min_timestep 600 must be below max_timestep 600"), e.getMessage());
    }

    /** kohya's pyramid_noise_like: levels of upscaled smaller noise, weighted discount^i, normalised to unit deviation. */
    @Test
    void multiresNoiseIsKohyasPyramid() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(3);
            Tensor noise = Torch.randn(new long[] {2, 4, 40, 24}, DType.F32, Device.CPU);
            Rng.manualSeed(9);
            Tensor pyramid = DiffusionObjective.pyramidNoise(noise, 6, 0.3);
            Rng.manualSeed(9);
            Tensor sum = noise;
            int levels = 0;
            for (int i = 0; i < 6; i++) {
                double r = Torch.rand(new long[] {1}, DType.F32, Device.CPU).item() * 2 + 2;
                long h = Math.max(1, (long) (40 / Math.pow(r, i))), w = Math.max(1, (long) (24 / Math.pow(r, i)));
                Tensor up = org.lorascripts.tensor.Functional.interpolate(Torch.randn(new long[] {2, 4, h, w}, DType.F32, Device.CPU),
                        40, 24, org.lorascripts.tensor.Functional.Interpolation.BILINEAR, false, false);
                sum = sum.add(up.mul(Math.pow(0.3, i)));
                levels++;
                if (h == 1 || w == 1) break;
            }
            Tensor expected = sum.div(sum.var(new long[] {0, 1, 2, 3}, true, false).sqrt());
            assertTrue(pyramid.sub(expected).abs().amax().item() < 1e-6);
            assertTrue(levels >= 3, "a few levels before 1 pixel: " + levels);
            assertEquals(1.0, pyramid.var(new long[] {0, 1, 2, 3}, true, false).item(), 1e-5, "unit variance");
            // with a strong discount the coarse levels correlate neighbouring pixels, which plain noise does not
            Tensor plain = Torch.randn(new long[] {8, 4, 64, 64}, DType.F32, Device.CPU);
            Tensor strong = DiffusionObjective.pyramidNoise(plain, 6, 0.8);
            double plainCorr = plain.narrow(2, 0, 63).mul(plain.narrow(2, 1, 63)).mean(new long[] {0, 1, 2, 3}, false).item();
            double strongCorr = strong.narrow(2, 0, 63).mul(strong.narrow(2, 1, 63)).mean(new long[] {0, 1, 2, 3}, false).item();
            assertTrue(Math.abs(plainCorr) < 0.05 && strongCorr > 0.2, "neighbour correlation: plain " + plainCorr + ", pyramid " + strongCorr);
        }
    }
}
