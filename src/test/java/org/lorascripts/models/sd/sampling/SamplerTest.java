package org.lorascripts.models.sd.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** The schedule against its formula, and samplers recovering x0 exactly from an oracle denoiser. */
class SamplerTest {
    private final DdpmSchedule schedule = new DdpmSchedule();

    @Test
    void scheduleMatchesScaledLinearBetas() {
        assertEquals(1 - 0.00085, schedule.alphaBar(0), 1e-9);
        double prod = 1;
        for (int t = 0; t < 1000; t++) {
            double s = Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) * t / 999;
            prod *= 1 - s * s;
        }
        assertEquals(prod, schedule.alphaBar(999), 1e-7);
        assertEquals(0.00466, schedule.alphaBar(999), 1e-4);  // SD's well-known final alpha-bar
        assertEquals(schedule.alphaBar(500) / (1 - schedule.alphaBar(500)), schedule.snr(500), 1e-12);
    }

    @Test
    void addNoiseAndVelocityFollowTheirFormulas() {
        try (Scope s = Scope.open()) {
            Tensor x0 = Torch.of(new double[] {1, 2}, 2, 1, 1, 1).to(DType.F32);
            Tensor n = Torch.of(new double[] {0.5, -1}, 2, 1, 1, 1).to(DType.F32);
            Tensor t = Torch.of(new long[] {10, 700});
            float[] xt = schedule.addNoise(x0, n, t).toFloatArray();
            double a0 = schedule.alphaBar(10), a1 = schedule.alphaBar(700);
            assertEquals(Math.sqrt(a0) * 1 + Math.sqrt(1 - a0) * 0.5, xt[0], 1e-6);
            assertEquals(Math.sqrt(a1) * 2 - Math.sqrt(1 - a1), xt[1], 1e-6);
            float[] v = schedule.velocity(x0, n, t).toFloatArray();
            assertEquals(Math.sqrt(a1) * -1 - Math.sqrt(1 - a1) * 2, v[1], 1e-6);
        }
    }

    /** The exact noise (or v) for a known x0, as a perfect model would predict. */
    private Denoiser oracle(Tensor x0, boolean v) {
        return (x, t) -> {
            double ab = schedule.alphaBar(t);
            Tensor eps = x.sub(x0.mul(Math.sqrt(ab))).div(Math.sqrt(1 - ab));
            return v ? eps.mul(Math.sqrt(ab)).sub(x0.mul(Math.sqrt(1 - ab))) : eps;
        };
    }

    @Test
    void ddimRecoversX0FromAnOracle() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(1);
            Tensor x0 = Torch.randn(new long[] {1, 4, 3, 3}, DType.F64, Device.CPU);
            Tensor noise = Torch.randn(new long[] {1, 4, 3, 3}, DType.F64, Device.CPU);
            // With a perfect model the noise estimate stays the one implied at the first step, and the
            // last step lands on alpha-bar_0 (set_alpha_to_one = false): sqrt(ab0) x0 + sqrt(1 - ab0) eps.
            double abT = schedule.alphaBar(951), ab0 = schedule.alphaBar(0);
            Tensor eps = noise.sub(x0.mul(Math.sqrt(abT))).div(Math.sqrt(1 - abT));
            double[] expect = x0.mul(Math.sqrt(ab0)).add(eps.mul(Math.sqrt(1 - ab0))).toDoubleArray();
            for (boolean v : new boolean[] {false, true}) {
                Tensor out = new DdimSampler(schedule, v).sample(oracle(x0, v), noise, 20);
                assertArrayEquals(expect, out.toDoubleArray(), 1e-9, "v=" + v);
            }
            assertArrayEquals(new int[] {901, 801, 701, 601, 501, 401, 301, 201, 101, 1}, new DdimSampler(schedule, false).timesteps(10));
        }
    }

    @Test
    void eulerAncestralRecoversX0FromAnOracle() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(2);
            Tensor x0 = Torch.randn(new long[] {1, 4, 3, 3}, DType.F64, Device.CPU);
            Tensor noise = Torch.randn(new long[] {1, 4, 3, 3}, DType.F64, Device.CPU);
            for (boolean v : new boolean[] {false, true}) {
                // 10 steps: linspace(999, 0, 10) hits integer timesteps, so the oracle is exact
                Denoiser base = oracle(x0, v);
                Tensor out = new EulerAncestralSampler(schedule, v).sample(base, noise, 10);
                assertArrayEquals(x0.toDoubleArray(), out.toDoubleArray(), 1e-8, "v=" + v);
            }
        }
    }
}
