package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Autocast regions and the fp16 loss-scaling kernels. */
class AutocastTest {

    @Test
    void bf16AutocastOnCpuCastsMatmulsAndRestores() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.randn(4, 8);
            Tensor w = Torch.randn(3, 8);
            assertEquals(DType.F32, Functional.linear(x, w, null).dtype());
            assertFalse(Autocast.isEnabled(Device.Type.CPU));
            try (Autocast ac = Autocast.enable(Device.Type.CPU, DType.BF16)) {
                assertTrue(Autocast.isEnabled(Device.Type.CPU));
                Tensor y = Functional.linear(x, w, null);
                assertEquals(DType.BF16, y.dtype(), "linear runs in bf16 under autocast");
                try (Autocast inner = Autocast.enable(Device.Type.CPU, DType.BF16)) {
                    assertEquals(DType.BF16, x.matmul(w.mT()).dtype());
                }
                assertTrue(Autocast.isEnabled(Device.Type.CPU), "inner region restored the outer state");
                // gradients flow back to the f32 leaves through the casts
                Tensor wl = w.detach().requiresGrad_(true);
                Functional.linear(x, wl, null).to(DType.F32).sum().backward();
                assertEquals(DType.F32, wl.grad().dtype());
            }
            assertFalse(Autocast.isEnabled(Device.Type.CPU));
            assertEquals(DType.F32, Functional.linear(x, w, null).dtype());
        }
    }

    @Test
    void suspendTurnsAutocastOffAndRestoresIt() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.randn(4, 8), w = Torch.randn(3, 8);
            try (Autocast ac = Autocast.enable(Device.Type.CPU, DType.BF16)) {
                try (Autocast off = Autocast.suspend(Device.Type.CPU)) {
                    assertFalse(Autocast.isEnabled(Device.Type.CPU));
                    assertEquals(DType.F32, Functional.linear(x, w, null).dtype(), "no cast inside the suspended region");
                }
                assertTrue(Autocast.isEnabled(Device.Type.CPU), "restored on close");
                assertEquals(DType.BF16, Autocast.dtype(Device.Type.CPU));
                assertEquals(DType.BF16, Functional.linear(x, w, null).dtype());
            }
            try (Autocast off = Autocast.suspend(Device.Type.CPU)) {
                assertFalse(Autocast.isEnabled(Device.Type.CPU), "suspending where it is off keeps it off");
            }
            assertFalse(Autocast.isEnabled(Device.Type.CPU));
        }
    }

    @Test
    void fp16AutocastOnCpuIsRefusedClearly() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Autocast.enable(Device.Type.CPU, DType.F16));
        assertTrue(e.getMessage().contains("bf16"), e.getMessage());
        assertFalse(Autocast.isEnabled(Device.Type.CPU));
    }

    @Test
    void unscaleDetectsInfAndScalesGrads() {
        try (Scope s = Scope.open()) {
            Tensor g1 = Torch.of(new float[] {2, 4});
            Tensor g2 = Torch.of(new float[] {8});
            Tensor found = Torch.zeros(1);
            LossScaling.unscale(List.of(g1, g2), found, Torch.of(new float[] {0.5f}));
            assertArrayEquals(new float[] {1, 2}, g1.toFloatArray());
            assertArrayEquals(new float[] {4}, g2.toFloatArray());
            assertEquals(0, found.item());
            Tensor bad = Torch.of(new float[] {1, Float.POSITIVE_INFINITY});
            LossScaling.unscale(List.of(g1, bad), found, Torch.of(new float[] {1f}));
            assertEquals(1, found.item());
            bad = Torch.of(new float[] {Float.NaN});
            Tensor found2 = Torch.zeros(1);
            LossScaling.unscale(List.of(bad), found2, Torch.of(new float[] {1f}));
            assertEquals(1, found2.item());
        }
    }

    @Test
    void updateScaleBacksOffAndGrows() {
        try (Scope s = Scope.open()) {
            Tensor scale = Torch.of(new float[] {1024});
            Tensor tracker = Torch.zeros(new long[] {1}, DType.I32, Device.CPU);
            LossScaling.updateScale(scale, tracker, Torch.of(new float[] {1}), 2.0, 0.5, 3);
            assertEquals(512, scale.item());
            assertEquals(0, tracker.item());
            for (int i = 0; i < 2; i++) LossScaling.updateScale(scale, tracker, Torch.zeros(1), 2.0, 0.5, 3);
            assertEquals(512, scale.item());
            assertEquals(2, tracker.item());
            LossScaling.updateScale(scale, tracker, Torch.zeros(1), 2.0, 0.5, 3);
            assertEquals(1024, scale.item(), "third good step grows the scale");
            assertEquals(0, tracker.item());
        }
    }
}
