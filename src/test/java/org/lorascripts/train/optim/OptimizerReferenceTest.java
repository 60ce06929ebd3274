package org.lorascripts.train.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.train.optim.OptimizerReferenceValues.*;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Lion, SGD, Adafactor and Prodigy against tools/optim_reference.py: three steps over a (2x3) and
 * b (4) with a gradient every step and c (3) with one only in the first, and d that never has one.
 * Then the resume check: state saved after step 2 and loaded into a fresh optimizer gives the same
 * third step as the uninterrupted run.
 */
class OptimizerReferenceTest {
    private static final double[] LRS = {0.1, 0.05, 0.02};
    private static final double[] ONES = {1.0, 1.0, 1.0};
    private static final long[][] SHAPES = {{2, 3}, {4}, {3}, {2}};
    private static final String[] NAMES = {"a", "b", "c", "d"};

    static float[] init(int k) {
        int n = numel(k);
        float[] r = new float[n];
        for (int i = 0; i < n; i++) r[i] = (float) (0.5 * Math.cos(1.1 * i + (k + 1)));
        return r;
    }

    static float[] grad(int k, int t) {
        int n = numel(k);
        float[] r = new float[n];
        for (int i = 0; i < n; i++) r[i] = (float) Math.sin(0.7 * i + 1.3 * t + (k + 1));
        return r;
    }

    private static int numel(int k) {
        long n = 1;
        for (long d : SHAPES[k]) n *= d;
        return (int) n;
    }

    private static List<NamedParam> params() {
        List<NamedParam> r = new ArrayList<>();
        for (int k = 0; k < 4; k++) r.add(new NamedParam(NAMES[k], Torch.of(init(k), SHAPES[k]).requiresGrad_(true)));
        return r;
    }

    private static void step(Optimizer opt, int t, double lr) {
        opt.zeroGrad();
        try (Scope s = Scope.open()) {
            for (int k = 0; k < 3; k++) {
                if (k == 2 && t != 1) continue;
                Tensor p = opt.params().get(k).tensor();
                p.setGrad(Torch.of(grad(k, t), p.shape()));
            }
        }
        opt.step(lr);
    }

    private static void assertClose(double[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], tol, what + "[" + i + "]");
    }

    /** Runs three steps, checks a, b, c against the reference and d untouched; then checks resume after step 2. */
    private static void check(Function<List<NamedParam>, Optimizer> make, double[] lrs, double tol, double[]... expected) {
        try (Scope s = Scope.open()) {
            List<NamedParam> ps = params();
            try (Optimizer opt = make.apply(ps)) {
                for (int t = 1; t <= 3; t++) step(opt, t, lrs[t - 1]);
                for (int k = 0; k < 3; k++) assertClose(expected[k], ps.get(k).tensor().toFloatArray(), tol, NAMES[k]);
                assertArrayEquals(init(3), ps.get(3).tensor().toFloatArray(), "a parameter without gradient is untouched");
                Map<String, Tensor> sd = opt.stateDict();
                assertEquals(3.0, sd.get("a.step").item());
                assertEquals(1.0, sd.get("c.step").item(), "steps without a gradient do not advance");
                assertFalse(sd.containsKey("d.step"), "no state for a parameter never stepped");
            }
            // resume: two steps, save, a fresh optimizer over a copy of the weights loads it, both take step 3
            List<NamedParam> a = params();
            List<NamedParam> b = params();
            try (Optimizer first = make.apply(a); Optimizer second = make.apply(b)) {
                for (int t = 1; t <= 2; t++) step(first, t, lrs[t - 1]);
                Map<String, Tensor> saved = new LinkedHashMap<>(first.stateDict());
                for (int k = 0; k < 4; k++) b.get(k).tensor().detach().copy_(a.get(k).tensor().detach());
                try (Optimizer interrupted = make.apply(a)) {
                    interrupted.loadStateDict(saved);  // loading into another instance must not disturb 'first'
                }
                second.loadStateDict(saved);
                step(first, 3, lrs[2]);
                step(second, 3, lrs[2]);
                for (int k = 0; k < 4; k++) {
                    assertArrayEquals(a.get(k).tensor().toFloatArray(), b.get(k).tensor().toFloatArray(), "resumed " + NAMES[k]);
                }
                for (int k = 0; k < 3; k++) assertClose(expected[k], b.get(k).tensor().toFloatArray(), tol, "resumed " + NAMES[k]);
                Map<String, Tensor> bad = new LinkedHashMap<>(saved);
                bad.put("a.nonsense", saved.get("a.step"));
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> second.loadStateDict(bad));
                assertTrue(e.getMessage().contains("a.nonsense"), e.getMessage());
            }
        }
    }

    @Test void lion() {
        check(ps -> new Lion(ps, 0.9, 0.99, 0.1), LRS, 2e-6, LION_A, LION_B, LION_C);
    }

    @Test void sgdNesterov() {
        check(ps -> new Sgd(ps, 0.9, 0, 0.01, true), LRS, 2e-6, SGD_NESTEROV_A, SGD_NESTEROV_B, SGD_NESTEROV_C);
    }

    @Test void sgdWithDampening() {
        check(ps -> new Sgd(ps, 0.8, 0.3, 0, false), LRS, 2e-6, SGD_DAMPENED_A, SGD_DAMPENED_B, SGD_DAMPENED_C);
    }

    @Test void adafactorRelativeStepIgnoresTheScheduledRate() {
        double[] odd = {0.3, 7.0, 0.001};  // any schedule: relative_step sets the step size itself
        check(ps -> new Adafactor(ps, 1e-30, 1e-3, 1.0, -0.8, null, 0, true, true, false), odd, 2e-6,
                ADAFACTOR_RELATIVE_A, ADAFACTOR_RELATIVE_B, ADAFACTOR_RELATIVE_C);
    }

    @Test void adafactorWithFixedRateFirstMomentAndDecay() {
        check(ps -> new Adafactor(ps, 1e-30, 1e-3, 0.5, -0.8, 0.9, 0.01, false, false, false), LRS, 2e-6,
                ADAFACTOR_FIXED_A, ADAFACTOR_FIXED_B, ADAFACTOR_FIXED_C);
    }

    @Test void prodigyDefaults() {
        // the defaults move weights by about 1e-6 in three steps: compare to a fraction of that
        check(ps -> new Prodigy(ps, 0.9, 0.999, Double.NaN, 1e-8, 0, true, false, false, 1e-6, 1, Double.POSITIVE_INFINITY),
                ONES, 5e-8, PRODIGY_DEFAULT_A, PRODIGY_DEFAULT_B, PRODIGY_DEFAULT_C);
    }

    @Test void prodigyGrowsDWithBiasCorrectionSafeguardAndDecay() {
        double[] lrs = {1.0, 0.5, 1.0};
        check(ps -> new Prodigy(ps, 0.9, 0.999, Double.NaN, 1e-8, 0.01, true, true, true, 1e-3, 1000, 1.5),
                lrs, 2e-6, PRODIGY_TUNED_A, PRODIGY_TUNED_B, PRODIGY_TUNED_C);
        try (Scope s = Scope.open()) {
            List<NamedParam> ps = params();
            try (Prodigy opt = new Prodigy(ps, 0.9, 0.999, Double.NaN, 1e-8, 0.01, true, true, true, 1e-3, 1000, 1.5)) {
                for (int t = 1; t <= 3; t++) step(opt, t, lrs[t - 1]);
                assertEquals(PRODIGY_TUNED_D, opt.d(), PRODIGY_TUNED_D * 1e-5);
                assertEquals(PRODIGY_TUNED_D, opt.stateDict().get("optimizer.d").item(), PRODIGY_TUNED_D * 1e-5);
            }
        }
    }

    @Test void fp16SkipLeavesEverythingAsItWas() {
        try (Scope s = Scope.open()) {
            List<NamedParam> ps = params();
            try (Optimizer opt = new Lion(ps, 0.9, 0.99, 0)) {
                opt.zeroGrad();
                Tensor p = ps.get(0).tensor();
                try (Scope g = Scope.open()) { p.setGrad(Torch.of(grad(0, 1), p.shape())); }
                opt.step(0.1, Torch.full(new long[0], 1.0, org.lorascripts.tensor.DType.F32, org.lorascripts.tensor.Device.CPU));
                assertArrayEquals(init(0), p.toFloatArray());
                assertTrue(opt.stateDict().isEmpty());
            }
        }
    }
}
