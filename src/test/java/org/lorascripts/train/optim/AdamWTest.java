package org.lorascripts.train.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.train.optim.ReferenceAdamW.B1;
import static org.lorascripts.train.optim.ReferenceAdamW.B2;
import static org.lorascripts.train.optim.ReferenceAdamW.EPS;
import static org.lorascripts.train.optim.ReferenceAdamW.WD;
import static org.lorascripts.train.optim.ReferenceAdamW.grad;
import static org.lorascripts.train.optim.ReferenceAdamW.values;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.nn.NamedParam;

/** AdamW on the CPU (composed path) against the update formula evaluated in Java doubles. */
class AdamWTest {
    private static final double[] LRS = {0.1, 0.05, 0.02, 0.07, 0.03};
    private static final double TOL = 2e-6;  // f32 against double, values of order 1

    private static Tensor param(float[] init, long... shape) {
        return Torch.of(init, shape).requiresGrad_(true);
    }

    private static void setGrad(Tensor p, float[] g) {
        try (Scope s = Scope.open()) {
            p.setGrad(Torch.of(g, p.shape()));
        }
    }

    private static void assertClose(double[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], TOL, what + "[" + i + "]");
    }

    @Test
    void threeStepsMatchTheFormulaAndSkipParamsWithoutGrad() {
        try (Scope s = Scope.open()) {
            float[] a0 = values(6, 1), b0 = values(4, 2), c0 = values(3, 3), d0 = values(2, 4);
            Tensor a = param(a0, 2, 3), b = param(b0, 4), c = param(c0, 3), d = param(d0, 2);
            ReferenceAdamW ra = new ReferenceAdamW(a0), rb = new ReferenceAdamW(b0), rc = new ReferenceAdamW(c0);
            try (AdamW opt = new AdamW(List.of(new NamedParam("a", a), new NamedParam("b", b), new NamedParam("c", c),
                    new NamedParam("d", d)), B1, B2, EPS, WD)) {
                for (int t = 1; t <= 3; t++) {
                    opt.zeroGrad();
                    setGrad(a, grad(6, 0, t));
                    setGrad(b, grad(4, 1, t));
                    ra.step(grad(6, 0, t), LRS[t - 1]);
                    rb.step(grad(4, 1, t), LRS[t - 1]);
                    if (t == 1) {  // c has a gradient only in the first step
                        setGrad(c, grad(3, 2, t));
                        rc.step(grad(3, 2, t), LRS[t - 1]);
                    }
                    opt.step(LRS[t - 1]);
                    if (t == 1) {  // independent of the reference: Adam's first step is lr·sign(g), after the decay
                        float[] a1 = a.toFloatArray();
                        float[] g1 = grad(6, 0, 1);
                        for (int i = 0; i < 6; i++) assertEquals(a0[i] * (1 - LRS[0] * WD) - LRS[0] * Math.signum(g1[i]), a1[i], 1e-5);
                    }
                    assertClose(ra.p, a.toFloatArray(), "a after step " + t);
                    assertClose(rb.p, b.toFloatArray(), "b after step " + t);
                    assertClose(rc.p, c.toFloatArray(), "c after step " + t);
                }
                assertArrayEquals(d0, d.toFloatArray(), "a param that never had a gradient is untouched");
                Map<String, Tensor> sd = opt.stateDict();
                assertEquals(3.0, sd.get("a.step").item());
                assertEquals(3.0, sd.get("b.step").item());
                assertEquals(1.0, sd.get("c.step").item(), "steps without a gradient do not advance");
                assertFalse(sd.containsKey("d.step") || sd.containsKey("d.exp_avg"), "no state for a param never stepped");
                assertClose(ra.m, sd.get("a.exp_avg").toFloatArray(), "a.exp_avg");
                assertClose(rb.v, sd.get("b.exp_avg_sq").toFloatArray(), "b.exp_avg_sq");
                assertArrayEquals(new long[] {2, 3}, sd.get("a.exp_avg").shape());
            }
        }
    }

    private static final long[][] SHAPES = {{3, 2}, {5}};

    private static Tensor[] freshParams() {
        Tensor[] ps = new Tensor[SHAPES.length];
        for (int i = 0; i < ps.length; i++) ps[i] = param(values((int) Arrays.stream(SHAPES[i]).reduce(1, (x, y) -> x * y), 7 + i), SHAPES[i]);
        return ps;
    }

    private static List<NamedParam> named(Tensor[] ps) {
        return List.of(new NamedParam("lora_down", ps[0]), new NamedParam("lora_up", ps[1]));
    }

    private static void runSteps(AdamW opt, Tensor[] ps, int from, int to) {
        for (int t = from; t <= to; t++) {
            opt.zeroGrad();
            for (int i = 0; i < ps.length; i++) setGrad(ps[i], grad((int) ps[i].numel(), i, t));
            opt.step(LRS[t - 1]);
        }
    }

    @Test
    void stateDictRoundTripContinuesIdentically() {
        try (Scope s = Scope.open()) {
            Tensor[] straight = freshParams();
            try (AdamW opt = new AdamW(named(straight), B1, B2, EPS, WD)) {
                runSteps(opt, straight, 1, 5);
            }
            Tensor[] first = freshParams();
            Map<String, Tensor> saved;
            try (AdamW opt = new AdamW(named(first), B1, B2, EPS, WD)) {
                runSteps(opt, first, 1, 3);
                saved = opt.stateDict();
            }
            Tensor[] resumed = {first[0].copy().requiresGrad_(true), first[1].copy().requiresGrad_(true)};
            Tensor[] fresh = {first[0].copy().requiresGrad_(true), first[1].copy().requiresGrad_(true)};
            try (AdamW opt = new AdamW(named(resumed), B1, B2, EPS, WD)) {
                opt.loadStateDict(saved);
                runSteps(opt, resumed, 4, 5);
            }
            try (AdamW opt = new AdamW(named(fresh), B1, B2, EPS, WD)) {
                runSteps(opt, fresh, 4, 5);
            }
            for (int i = 0; i < straight.length; i++) {
                assertArrayEquals(straight[i].toFloatArray(), resumed[i].toFloatArray(), "param " + i + " resumed == straight, bit for bit");
                assertFalse(Arrays.equals(straight[i].toFloatArray(), fresh[i].toFloatArray()), "without the loaded state the run differs");
            }
        }
    }

    @Test
    void badStateIsRejectedWithTheKeyAndNothingChanges() {
        try (Scope s = Scope.open()) {
            Tensor[] ps = freshParams();
            try (AdamW opt = new AdamW(named(ps), B1, B2, EPS, WD)) {
                runSteps(opt, ps, 1, 2);
                Map<String, Tensor> good = opt.stateDict();
                float[] mBefore = good.get("lora_up.exp_avg").toFloatArray();

                Map<String, Tensor> wrongShape = new HashMap<>(good);
                wrongShape.put("lora_down.exp_avg_sq", Torch.zeros(2, 3));
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(wrongShape));
                assertTrue(e.getMessage().contains("lora_down.exp_avg_sq") && e.getMessage().contains("[2, 3]") && e.getMessage().contains("[3, 2]"), e.getMessage());

                Map<String, Tensor> unknown = new HashMap<>(good);
                unknown.put("lora_mid.exp_avg", Torch.zeros(5));
                e = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(unknown));
                assertTrue(e.getMessage().contains("lora_mid.exp_avg"), e.getMessage());

                Map<String, Tensor> incomplete = new HashMap<>(good);
                incomplete.remove("lora_up.step");
                e = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(incomplete));
                assertTrue(e.getMessage().contains("lora_up.step") && e.getMessage().contains("missing"), e.getMessage());

                Map<String, Tensor> badSuffix = new HashMap<>(good);
                badSuffix.put("lora_up.momentum", Torch.zeros(5));
                e = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(badSuffix));
                assertTrue(e.getMessage().contains("lora_up.momentum"), e.getMessage());

                Map<String, Tensor> after = opt.stateDict();
                assertArrayEquals(mBefore, after.get("lora_up.exp_avg").toFloatArray(), "a rejected load leaves the state as it was");
                assertEquals(2.0, after.get("lora_down.step").item());
            }
        }
    }

    @Test
    void refusesNonFloat32ParamsAndBadHyperparameters() {
        try (Scope s = Scope.open()) {
            Tensor half = Torch.zeros(4).to(DType.BF16);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new AdamW(List.of(new NamedParam("w", half)), B1, B2, EPS, WD));
            assertTrue(e.getMessage().contains("'w'") && e.getMessage().contains("float32") && e.getMessage().contains("bf16"), e.getMessage());
            Tensor w = Torch.zeros(4);
            assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(new NamedParam("w", w), new NamedParam("w", w)), B1, B2, EPS, WD));
            assertThrows(IllegalArgumentException.class, () -> new AdamW(List.of(new NamedParam("w", w)), 1.0, B2, EPS, WD));
            try (AdamW opt = new AdamW(List.of(new NamedParam("w", w)), B1, B2, EPS, WD)) {
                assertThrows(IllegalArgumentException.class, () -> opt.step(Double.NaN));
            }
        }
    }

    @Test
    void closingReleasesEveryStateTensor() {
        try (Scope s = Scope.open()) {
            Tensor[] ps = freshParams();
            for (Tensor p : ps) setGrad(p, grad((int) p.numel(), 0, 1));
            long before = Tensor.liveCount();
            AdamW opt = new AdamW(named(ps), B1, B2, EPS, WD);
            runSteps(opt, ps, 1, 3);
            assertTrue(Tensor.liveCount() > before, "state exists while the optimizer is open");
            try (Scope inner = Scope.open()) {
                opt.loadStateDict(opt.stateDict());
            }
            runSteps(opt, ps, 4, 4);
            opt.close();
            assertTrue(Tensor.liveCount() <= before, "optimizer state freed");
            assertThrows(IllegalStateException.class, () -> opt.step(0.1));
        }
    }
}
