package org.lorascripts.models.sd.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.lorascripts.models.sd.sampling.DpmSolverMultistepSampler.Spacing;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * DPM++ 2M against diffusers' DPMSolverMultistepScheduler schedules (recomputed here from its formulas),
 * exact recovery of x0 from oracle models (noise and v), and its second order on a problem whose
 * probability-flow ODE has a closed-form solution.
 */
class DpmSolverMultistepSamplerTest {
    private final DdpmSchedule schedule = new DdpmSchedule();

    /** sqrt((1 - alpha-bar_t) / alpha-bar_t) of SD's scaled-linear betas (0.00085 → 0.012, 1000 steps), in doubles. */
    private static double[] sigmaTable() {
        double[] s = new double[1000];
        double a = Math.sqrt(0.00085), b = Math.sqrt(0.012), prod = 1;
        for (int t = 0; t < 1000; t++) {
            double r = a + (b - a) * t / 999;
            prod *= 1 - r * r;
            s[t] = Math.sqrt((1 - prod) / prod);
        }
        return s;
    }

    @Test
    void leadingScheduleOf30StepsMatchesDiffusers() {
        double[] table = sigmaTable();
        var dpm = new DpmSolverMultistepSampler(schedule, false, false);
        int[] ts = dpm.timesteps(30);
        double[] sigmas = dpm.sigmas(30);
        // leading: arange(0, 31) * (1000 // 31), reversed, the trailing 0 dropped, + steps_offset 1
        for (int i = 0; i < 30; i++) assertEquals((30 - i) * (1000 / 31) + 1, ts[i], "timestep " + i);
        assertEquals(961, ts[0]);
        assertEquals(481, ts[15]);
        assertEquals(33, ts[29]);
        assertEquals(31, sigmas.length);
        for (int i = 0; i < 30; i++) assertEquals(table[ts[i]], sigmas[i], 1e-5 * table[ts[i]], "sigma " + i);
        // diffusers' own float32 values at the first, middle and last timestep
        assertEquals(11.676058, sigmas[0], 2e-4);
        assertEquals(1.5192171, sigmas[15], 2e-5);
        assertEquals(0.17925863, sigmas[29], 2e-6);
        assertEquals(0, sigmas[30], "final_sigmas_type zero");
    }

    @Test
    void linspaceAndTrailingSpacingMatchDiffusers() {
        int[] lin = new DpmSolverMultistepSampler(schedule, false, false, Spacing.LINSPACE, 0).timesteps(30);
        for (int i = 0; i < 30; i++) assertEquals(Math.rint((30 - i) * (999.0 / 30)), lin[i], "linspace " + i);
        assertEquals(999, lin[0]);
        assertEquals(499, lin[15]);
        assertEquals(33, lin[29]);
        int[] trail = new DpmSolverMultistepSampler(schedule, false, false, Spacing.TRAILING, 0).timesteps(30);
        assertEquals(999, trail[0]);
        assertEquals(499, trail[15]);
        assertEquals(32, trail[29]);
        assertArrayEquals(new int[] {999, 749, 499, 249}, new DpmSolverMultistepSampler(schedule, false, false, Spacing.TRAILING, 0).timesteps(4));
    }

    @Test
    void karrasSigmasFollowTheRho7Ramp() {
        double[] table = sigmaTable();
        double max = table[999], min = table[0], rho = 7;
        var dpm = new DpmSolverMultistepSampler(schedule, false, true);
        double[] sigmas = dpm.sigmas(30);
        for (int i = 0; i < 30; i++) {
            double expect = Math.pow(Math.pow(max, 1 / rho) + i / 29.0 * (Math.pow(min, 1 / rho) - Math.pow(max, 1 / rho)), rho);
            assertEquals(expect, sigmas[i], 1e-5 * expect, "sigma " + i);
        }
        assertEquals(14.614660, sigmas[0], 2e-4);
        assertEquals(1.1512629, sigmas[15], 2e-5);
        assertEquals(0.029167519, sigmas[29], 1e-6);
        assertEquals(0, sigmas[30]);
        // the timesteps diffusers derives from them (_sigma_to_t, rounded)
        int[] ts = dpm.timesteps(30);
        assertEquals(999, ts[0]);
        assertEquals(397, ts[15]);
        assertEquals(0, ts[29]);
        assertArrayEquals(new int[] {999, 975, 949, 923, 894, 863, 830, 795, 757, 716, 672, 624, 572, 517, 458, 397, 334, 273,
                214, 162, 117, 80, 53, 33, 20, 11, 6, 3, 1, 0}, ts);
        for (int t : new int[] {0, 1, 500, 998, 999}) assertEquals(t, dpm.timestepOf(schedule.sigma(t)), 1e-9);
    }

    /**
     * A perfect model for a known x0, told sigmas in the sampler's order: x (the model's input times
     * sqrt(sigma^2 + 1)) = x0 + sigma·eps gives eps; for a v-model, v = alpha·eps - sigma_vp·x0 in
     * diffusers' VP terms (alpha = 1 / sqrt(sigma^2 + 1), sigma_vp = sigma·alpha).
     */
    private static Denoiser oracle(Tensor x0, double[] sigmas, boolean v) {
        int[] call = {0};
        return (in, t) -> {
            double s = sigmas[call[0]++], alpha = 1 / Math.sqrt(s * s + 1);
            Tensor eps = in.div(alpha).sub(x0).div(s);
            return v ? eps.mul(alpha).sub(x0.mul(s * alpha)) : eps;
        };
    }

    @Test
    void recoversX0FromAnExactNoiseModel() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(3);
            Tensor x0 = Torch.randn(new long[] {1, 4, 3, 3}, DType.F64, Device.CPU);
            Tensor noise = Torch.randn(new long[] {1, 4, 3, 3}, DType.F64, Device.CPU);
            for (boolean karras : new boolean[] {false, true}) {
                for (int steps : new int[] {1, 2, 10, 30}) {
                    var dpm = new DpmSolverMultistepSampler(schedule, false, karras);
                    Tensor out = dpm.sample(oracle(x0, dpm.sigmas(steps), false), noise, steps);
                    assertArrayEquals(x0.toDoubleArray(), out.toDoubleArray(), 1e-5, "karras=" + karras + ", steps=" + steps);
                }
            }
            // the timestep alone pins sigma at the schedule's own sigmas: the oracle of SamplerTest works too
            Denoiser byTimestep = (in, t) -> in.sub(x0.mul(Math.sqrt(schedule.alphaBar(t)))).div(Math.sqrt(1 - schedule.alphaBar(t)));
            Tensor out = new DpmSolverMultistepSampler(schedule, false, false).sample(byTimestep, noise, 20);
            assertArrayEquals(x0.toDoubleArray(), out.toDoubleArray(), 1e-5);
        }
    }

    @Test
    void vPredictionIsConvertedToTheSameDenoisedEstimate() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(4);
            Tensor x0 = Torch.randn(new long[] {1, 4, 3, 3}, DType.F64, Device.CPU);
            Tensor noise = Torch.randn(new long[] {1, 4, 3, 3}, DType.F64, Device.CPU);
            for (boolean karras : new boolean[] {false, true}) {
                var dpm = new DpmSolverMultistepSampler(schedule, true, karras);
                Tensor out = dpm.sample(oracle(x0, dpm.sigmas(25), true), noise, 25);
                assertArrayEquals(x0.toDoubleArray(), out.toDoubleArray(), 1e-5, "karras=" + karras);
            }
            // one step at sigma 2: the v-model's denoised estimate equals the noise model's
            var eps = new DpmSolverMultistepSampler(schedule, false, false).dataPrediction(oracle(x0, new double[] {2, 2}, false));
            var vel = new DpmSolverMultistepSampler(schedule, true, false).dataPrediction(oracle(x0, new double[] {2, 2}, true));
            Tensor x = x0.add(noise.mul(2));
            assertArrayEquals(eps.denoise(x, 2, 0).toDoubleArray(), vel.denoise(x, 2, 0).toDoubleArray(), 1e-12);
            assertArrayEquals(x0.toDoubleArray(), vel.denoise(x, 2, 0).toDoubleArray(), 1e-12);
        }
    }

    // Data ~ N(M, C^2): the ideal denoiser is D(x, sigma) = M + C^2 / (C^2 + sigma^2)·(x - M), and the
    // probability-flow ODE dx/dsigma = (x - D) / sigma gives x(sigma) - M ∝ sqrt(C^2 + sigma^2) exactly.
    private static final double M = 0.5, C = 1.0;

    private static Tensor gaussianDenoiser(Tensor x, double sigma) {
        return x.sub(M).mul(C * C / (C * C + sigma * sigma)).add(M);
    }

    private static double exact(double x, double from, double to) {
        return M + (x - M) * Math.sqrt(C * C + to * to) / Math.sqrt(C * C + from * from);
    }

    /** k-diffusion's sample_euler (first order): x += (x - D) / sigma · (sigma_next - sigma). */
    private static double euler(double x, double[] sigmas) {
        try (Scope s = Scope.open()) {
            Tensor t = Torch.of(new double[] {x}, 1);
            for (int i = 0; i + 1 < sigmas.length; i++) {
                Tensor d = t.sub(gaussianDenoiser(t, sigmas[i])).div(sigmas[i]);
                t = t.add(d.mul(sigmas[i + 1] - sigmas[i]));
            }
            return t.toDoubleArray()[0];
        }
    }

    private static double dpm(double x, double[] sigmas) {
        try (Scope s = Scope.open()) {
            int[] ts = new int[sigmas.length - 1];
            Tensor out = DpmSolverMultistepSampler.solve((t, sigma, step) -> gaussianDenoiser(t, sigma), Torch.of(new double[] {x}, 1), sigmas, ts);
            return out.toDoubleArray()[0];
        }
    }

    /**
     * diffusers' step in its own VP variables (sample = x·alpha_t, lambda_t = log(alpha_t / sigma_t)):
     * first order x_t = (sigma_t / sigma_s)·x - alpha_t·(e^-h - 1)·D0; second order adds
     * -0.5·alpha_t·(e^-h - 1)·(D0 - D_last) / r0; first order at the first step and at the last
     * (final_sigmas_type "zero"). Returns the VP sample at sigma 0, which is x0-space.
     */
    private static double diffusersVp(double noise, double[] sigmas) {
        double sample = noise, last = 0, hLast = 0;
        for (int i = 0; i + 1 < sigmas.length; i++) {
            double ks = sigmas[i], kt = sigmas[i + 1];
            double as = 1 / Math.sqrt(ks * ks + 1), ss = ks * as, at = 1 / Math.sqrt(kt * kt + 1), st = kt * at;
            double d0 = M + C * C / (C * C + ks * ks) * (sample / as - M);   // the model's x0 prediction
            if (kt == 0) {
                sample = d0;
            } else {
                double h = Math.log(at / st) - Math.log(as / ss);
                sample = (st / ss) * sample - at * Math.expm1(-h) * d0;
                if (i > 0) sample -= 0.5 * at * Math.expm1(-h) * (d0 - last) / (hLast / h);
                hLast = h;
            }
            last = d0;
        }
        return sample;
    }

    @Test
    void sigmaSpaceStepsAreDiffusersVpSteps() {
        for (boolean karras : new boolean[] {false, true}) {
            for (int steps : new int[] {2, 7, 20}) {
                double[] sigmas = new DpmSolverMultistepSampler(schedule, false, karras).sigmas(steps);
                double noise = 1.3;   // diffusers' starting latents (init_noise_sigma 1)
                double ours = dpm(noise * Math.sqrt(sigmas[0] * sigmas[0] + 1), sigmas);
                assertEquals(diffusersVp(noise, sigmas), ours, 1e-12, "karras=" + karras + ", steps=" + steps);
            }
        }
    }

    @Test
    void secondOrderBeatsEulerOnAGaussianWithAKnownSolution() {
        // The Karras ladder from sigma_max to sigma_min (the jump to 0 left out: that last step is
        // first order in both samplers, and would hide the order of the rest)
        double[] err = new double[4];
        int k = 0;
        for (int steps : new int[] {10, 20}) {
            double[] full = new DpmSolverMultistepSampler(schedule, false, true).sigmas(steps + 1);
            double[] ladder = Arrays.copyOf(full, steps + 1);
            double xT = 2.0 * Math.sqrt(ladder[0] * ladder[0] + 1);
            double truth = exact(xT, ladder[0], ladder[steps]);
            err[k++] = Math.abs(euler(xT, ladder) - truth);
            err[k++] = Math.abs(dpm(xT, ladder) - truth);
        }
        double euler10 = err[0], dpm10 = err[1], euler20 = err[2], dpm20 = err[3];
        assertTrue(dpm10 * 2.5 < euler10, "DPM++ 2M error " + dpm10 + " vs Euler " + euler10 + " at 10 steps");
        // observed order: doubling the steps halves Euler's error and quarters DPM++ 2M's
        double eulerRate = euler10 / euler20, dpmRate = dpm10 / dpm20;
        assertTrue(eulerRate > 1.7 && eulerRate < 2.5, "Euler's error ratio " + eulerRate);
        assertTrue(dpmRate > 3.5, "DPM++ 2M's error ratio " + dpmRate);
        // the full schedule (ending at sigma 0) of 10 steps is closer to the exact solution too
        double[] sigmas = new DpmSolverMultistepSampler(schedule, false, true).sigmas(10);
        double xT = 2.0 * Math.sqrt(sigmas[0] * sigmas[0] + 1), truth = exact(xT, sigmas[0], 0);
        assertTrue(Math.abs(dpm(xT, sigmas) - truth) * 2 < Math.abs(euler(xT, sigmas) - truth));
    }
}
