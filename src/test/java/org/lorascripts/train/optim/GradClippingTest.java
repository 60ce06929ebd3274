package org.lorascripts.train.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** clip_grad_norm_ against norms computed in Java (f64 grads, so the comparison is tight). */
class GradClippingTest {
    private static final double[] G1 = {3.0, -4.0, 0.5, 2.0, -1.25, 0.0};  // shape (2, 3)
    private static final double[] G2 = {1.5, -0.75, 6.0};

    private static double sumSquares(double[] g) {
        double s = 0;
        for (double x : g) s += x * x;
        return s;
    }

    private static double expectedTotal() { return Math.sqrt(sumSquares(G1) + sumSquares(G2)); }

    private static Tensor paramWithGrad(double[] g, long... shape) {
        Tensor p = Torch.zeros(shape, DType.F64, Device.CPU).requiresGrad_(true);
        p.setGrad(Torch.of(g, shape));
        return p;
    }

    private static double[] scaled(double[] g, double c) {
        double[] r = new double[g.length];
        for (int i = 0; i < g.length; i++) r[i] = g[i] * c;
        return r;
    }

    @Test
    void clipsToMaxNormAndReturnsTheNormBeforeClipping() {
        try (Scope s = Scope.open()) {
            Tensor a = paramWithGrad(G1, 2, 3), b = paramWithGrad(G2, 3), noGrad = Torch.zeros(4);
            double total = expectedTotal();
            double maxNorm = total / 3;
            double norm = GradClipping.clipGradNorm(List.of(a, noGrad, b), maxNorm);
            assertEquals(total, norm, 1e-12);
            double coef = maxNorm / (total + 1e-6);
            assertArrayEquals(scaled(G1, coef), a.grad().toDoubleArray(), 1e-12);
            assertArrayEquals(scaled(G2, coef), b.grad().toDoubleArray(), 1e-12);
            assertNull(noGrad.grad());
            double after = Math.sqrt(sumSquares(a.grad().toDoubleArray()) + sumSquares(b.grad().toDoubleArray()));
            assertEquals(maxNorm, after, 1e-6 * maxNorm, "the clipped grads have the max norm");
        }
    }

    @Test
    void leavesGradsAloneBelowTheMax() {
        try (Scope s = Scope.open()) {
            Tensor a = paramWithGrad(G1, 2, 3), b = paramWithGrad(G2, 3);
            double norm = GradClipping.clipGradNorm(List.of(a, b), expectedTotal() * 1.5);
            assertEquals(expectedTotal(), norm, 1e-12);
            assertArrayEquals(G1, a.grad().toDoubleArray(), 0);
            assertArrayEquals(G2, b.grad().toDoubleArray(), 0);
            assertEquals(0.0, GradClipping.clipGradNorm(List.of(Torch.zeros(2)), 1.0), "no gradients: norm 0");
        }
    }

    @Test
    void nonFiniteNormIsReportedAndGradsAreKept() {
        try (Scope s = Scope.open()) {
            double[] withInf = G1.clone();
            withInf[2] = Double.POSITIVE_INFINITY;
            Tensor a = paramWithGrad(withInf, 2, 3), b = paramWithGrad(G2, 3);
            assertEquals(Double.POSITIVE_INFINITY, GradClipping.clipGradNorm(List.of(a, b), 1.0));
            assertArrayEquals(G2, b.grad().toDoubleArray(), 0, "finite grads are not zeroed by an inf norm");
            double[] withNan = G2.clone();
            withNan[0] = Double.NaN;
            Tensor c = paramWithGrad(withNan, 3);
            assertTrue(Double.isNaN(GradClipping.clipGradNorm(List.of(c), 1.0)));
            assertEquals(-0.75, c.grad().toDoubleArray()[1]);
        }
    }

    @Test
    void theDeviceFormClipsTheSameAndReturnsTheNormAsATensor() {
        for (double factor : new double[] {1.0 / 3, 1.5}) {   // clipped, then left alone
            try (Scope s = Scope.open()) {
                Tensor a = paramWithGrad(G1, 2, 3), b = paramWithGrad(G2, 3), a2 = paramWithGrad(G1, 2, 3), b2 = paramWithGrad(G2, 3);
                double maxNorm = expectedTotal() * factor;
                double plain = GradClipping.clipGradNorm(List.of(a, b), maxNorm);
                Tensor norm = GradClipping.clipGradNormOnDevice(List.of(a2, b2), maxNorm);
                assertEquals(0, norm.dim(), "a one-element tensor");
                assertEquals(plain, norm.item(), 1e-5 * plain);   // f32 result
                assertArrayEquals(a.grad().toDoubleArray(), a2.grad().toDoubleArray(), 1e-6);
                assertArrayEquals(b.grad().toDoubleArray(), b2.grad().toDoubleArray(), 1e-6);
                norm.close();
            }
        }
    }

    @Test
    void theDeviceFormWithoutAMaxOnlyMeasures() {
        try (Scope s = Scope.open()) {
            Tensor a = paramWithGrad(G1, 2, 3);
            Tensor norm = GradClipping.clipGradNormOnDevice(List.of(a), Double.POSITIVE_INFINITY);
            assertEquals(Math.sqrt(sumSquares(G1)), norm.item(), 1e-5);
            assertArrayEquals(G1, a.grad().toDoubleArray(), 0);
            norm.close();
        }
    }
}
