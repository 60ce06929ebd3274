package org.lorascripts.train.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.nn.NamedParam;

/** Dynamic loss scaling on the CPU: scaling, unscaling, skipped inf steps, backoff and growth. */
class GradScalerTest {
    private static final float[] P0 = {0.5f, -1.0f, 2.0f, 0.25f};

    private static Tensor param() { return Torch.of(P0.clone(), 2, 2).requiresGrad_(true); }

    private static AdamW optimizer(Tensor p) { return new AdamW(List.of(new NamedParam("w", p)), 0.9, 0.999, 1e-8, 0.01); }

    private static void setGrad(Tensor p, float... g) {
        try (Scope s = Scope.open()) {
            p.setGrad(Torch.of(g, p.shape()));
        }
    }

    @Test
    void scalesTheLossAndUnscalesTheGrads() {
        try (Scope s = Scope.open(); GradScaler scaler = GradScaler.enabled(Device.CPU)) {
            assertEquals(65536.0, scaler.scaleValue());
            assertEquals(1.5 * 65536, scaler.scale(Torch.scalar(1.5)).item());
            Tensor p = param();
            float[] g = {3.0f, -7.25f, 1e4f, 0.1f};
            setGrad(p, g);
            try (AdamW opt = optimizer(p)) {
                scaler.unscale(opt);
                float[] un = p.grad().toFloatArray();
                for (int i = 0; i < g.length; i++) assertEquals(g[i] / 65536.0, un[i], Math.ulp(un[i]), "grad / scale at " + i);
                assertThrows(IllegalStateException.class, () -> scaler.unscale(opt), "unscaling twice would divide twice");
                assertTrue(scaler.step(opt, 0.1), "finite grads: the step happens");
                assertFalse(Arrays.equals(P0, p.toFloatArray()));
                scaler.update();
                assertEquals(0, scaler.skippedSteps());
                assertEquals(65536.0, scaler.scaleValue(), "one good step is not yet a growth interval");
            }
        }
    }

    @Test
    void infGradsSkipTheStepAndHalveTheScale() {
        try (Scope s = Scope.open(); GradScaler scaler = GradScaler.enabled(Device.CPU)) {
            Tensor p = param();
            setGrad(p, 1.0f, Float.POSITIVE_INFINITY, -2.0f, 0.5f);
            try (AdamW opt = optimizer(p)) {
                assertFalse(scaler.step(opt, 0.1));
                assertArrayEquals(P0, p.toFloatArray(), "params unchanged by a skipped step");
                assertTrue(opt.stateDict().isEmpty(), "a skipped step creates and advances no optimizer state");
                assertEquals(1, scaler.skippedSteps());
                scaler.update();
                assertEquals(32768.0, scaler.scaleValue());

                setGrad(p, Float.NaN, 1.0f, 1.0f, 1.0f);
                assertFalse(scaler.step(opt, 0.1), "nan counts as inf");
                scaler.update();
                assertEquals(2, scaler.skippedSteps());
                assertEquals(16384.0, scaler.scaleValue());

                setGrad(p, 1.0f, 1.0f, 1.0f, 1.0f);
                assertTrue(scaler.step(opt, 0.1));
                scaler.update();
                assertEquals(1.0, opt.stateDict().get("w.step").item(), "only the good step counts");
            }
        }
    }

    @Test
    void scaleGrowsAfterTheGrowthIntervalOfGoodSteps() {
        try (Scope s = Scope.open(); GradScaler scaler = GradScaler.enabled(Device.CPU, 8.0, 2.0, 0.5, 3)) {
            Tensor p = param();
            try (AdamW opt = optimizer(p)) {
                double[] seen = new double[7];
                for (int i = 0; i < seen.length; i++) {
                    // an inf at iteration 3 resets the count of good steps
                    if (i == 3) setGrad(p, Float.NEGATIVE_INFINITY, 0, 0, 0); else setGrad(p, 8.0f, -8.0f, 4.0f, 2.0f);
                    assertEquals(i != 3, scaler.step(opt, 0.01));
                    scaler.update();
                    seen[i] = scaler.scaleValue();
                }
                assertArrayEquals(new double[] {8, 8, 16, 8, 8, 8, 16}, seen);
                assertEquals(1, scaler.skippedSteps());
            }
        }
    }

    @Test
    void stateRoundTripKeepsScaleTrackerAndSkips() {
        try (Scope s = Scope.open(); GradScaler a = GradScaler.enabled(Device.CPU, 64.0, 2.0, 0.5, 3);
             GradScaler b = GradScaler.enabled(Device.CPU, 1024.0, 2.0, 0.5, 3)) {  // resumed with the same config
            Tensor p = param();
            try (AdamW opt = optimizer(p)) {
                setGrad(p, Float.NaN, 0, 0, 0);
                a.step(opt, 0.01);
                a.update();
                for (int i = 0; i < 2; i++) {
                    setGrad(p, 1, 1, 1, 1);
                    a.step(opt, 0.01);
                    a.update();
                }
                Map<String, Tensor> sd = a.stateDict();
                b.loadStateDict(sd);
                assertEquals(32.0, b.scaleValue());
                assertEquals(1, b.skippedSteps());
                // two good steps were counted before the save: the third grows the scale in b, as it would have in a
                setGrad(p, 1, 1, 1, 1);
                assertTrue(b.step(opt, 0.01));
                b.update();
                assertEquals(64.0, b.scaleValue());
                sd.put("scale", Torch.zeros(2));
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.loadStateDict(sd));
                assertTrue(e.getMessage().contains("scale"), e.getMessage());
            }
        }
    }

    @Test
    void disabledScalerPassesThrough() {
        try (Scope s = Scope.open(); GradScaler scaler = GradScaler.disabled()) {
            Tensor loss = Torch.scalar(2.5);
            assertSame(loss, scaler.scale(loss));
            Tensor p = param();
            setGrad(p, 1, 2, 3, 4);
            try (AdamW opt = optimizer(p)) {
                scaler.unscale(opt);
                assertArrayEquals(new float[] {1, 2, 3, 4}, p.grad().toFloatArray(), "nothing to unscale");
                assertTrue(scaler.step(opt, 0.1));
                scaler.update();
                assertFalse(Arrays.equals(P0, p.toFloatArray()));
            }
            assertEquals(1.0, scaler.scaleValue());
            assertTrue(scaler.stateDict().isEmpty());
        }
    }

    @Test
    void closingReleasesTheScalerTensors() {
        try (Scope s = Scope.open()) {
            Tensor p = param();
            long before = Tensor.liveCount();
            GradScaler scaler = GradScaler.enabled(Device.CPU);
            AdamW opt = optimizer(p);
            setGrad(p, 1, 2, 3, 4);
            scaler.step(opt, 0.1);
            scaler.update();
            opt.close();
            scaler.close();
            org.junit.jupiter.api.Assertions.assertTrue(Tensor.liveCount() <= before, "scaler state freed");
        }
    }
}
