package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link Tensor#svd()} (torch.linalg.svd, full_matrices=False) against known decompositions, on the CPU. */
class SvdTest {
    @Test
    void knownSingularValuesOfAConstructedMatrix() {
        try (Scope sc = Scope.open()) {
            // A = U diag(5, 3, 1) V^T with orthonormal U (4x3: columns of a Householder reflection) and V (3x3: a rotation):
            // the singular values are 5, 3, 1 by construction.
            double c = Math.cos(0.7), s = Math.sin(0.7);
            Tensor v = Torch.of(new double[] {c, -s, 0, s, c, 0, 0, 0, 1}, 3, 3);
            // Householder H = I - 2 w w^T / (w^T w), w = (1, 2, 3, 4): orthogonal; take 3 of its columns.
            double[] w = {1, 2, 3, 4};
            double ww = 30;
            double[] h = new double[16];
            for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) h[i * 4 + j] = (i == j ? 1 : 0) - 2 * w[i] * w[j] / ww;
            Tensor u = Torch.of(h, 4, 4).narrow(1, 0, 3);
            Tensor a = u.mul(Torch.of(new double[] {5, 3, 1})).mm(v.mT());
            Tensor.Svd svd = a.svd();
            assertArrayEquals(new long[] {4, 3}, svd.u().shape());
            assertArrayEquals(new long[] {3}, svd.s().shape());
            assertArrayEquals(new long[] {3, 3}, svd.vh().shape());
            assertArrayEquals(new double[] {5, 3, 1}, svd.s().toDoubleArray(), 1e-12);
            assertReconstructs(a, svd, 1e-12);
            assertOrthonormalColumns(svd.u(), 1e-12);
            assertOrthonormalColumns(svd.vh().mT(), 1e-12);
        }
    }

    @Test
    void wideAndTallFloatMatrices() {
        try (Scope sc = Scope.open()) {
            Rng.manualSeed(3);
            for (long[] shape : new long[][] {{6, 17}, {17, 6}}) {
                Tensor a = Torch.randn(shape);
                Tensor.Svd svd = a.svd();
                long k = Math.min(shape[0], shape[1]);
                assertArrayEquals(new long[] {shape[0], k}, svd.u().shape());
                assertArrayEquals(new long[] {k, shape[1]}, svd.vh().shape());
                double[] sv = svd.s().toDoubleArray();
                for (int i = 1; i < sv.length; i++) assertTrue(sv[i - 1] >= sv[i], "descending");
                // ||A||_F^2 = sum of squared singular values
                double fro2 = 0;
                for (double x : sv) fro2 += x * x;
                assertEquals(a.square().sum().item(), fro2, 1e-3);
                assertReconstructs(a, svd, 1e-5);
                assertOrthonormalColumns(svd.u(), 1e-5);
                assertOrthonormalColumns(svd.vh().mT(), 1e-5);
            }
        }
    }

    @Test
    void rankDeficientMatrixHasZeroTrailingValues() {
        try (Scope sc = Scope.open()) {
            // outer((1,2,3), (1,1)) has rank 1: sigma_1 = |(1,2,3)| * |(1,1)| = sqrt(14) * sqrt(2)
            Tensor a = Torch.outer(Torch.of(new double[] {1, 2, 3}), Torch.of(new double[] {1, 1}));
            double[] sv = a.svd().s().toDoubleArray();
            assertEquals(Math.sqrt(28), sv[0], 1e-12);
            assertEquals(0, sv[1], 1e-12);
        }
    }

    private static void assertReconstructs(Tensor a, Tensor.Svd svd, double tol) {
        Tensor back = svd.u().mul(svd.s()).mm(svd.vh());
        assertTrue(back.sub(a).abs().amax().item() < tol, "U diag(S) Vh reconstructs A");
    }

    private static void assertOrthonormalColumns(Tensor q, double tol) {
        Tensor gram = q.mT().mm(q);
        long k = q.size(1);
        Tensor eye = Torch.zeros(new long[] {k, k}, gram.dtype(), Device.CPU);
        for (long i = 0; i < k; i++) eye.narrow(0, i, 1).narrow(1, i, 1).fill_(1);
        assertTrue(gram.sub(eye).abs().amax().item() < tol, "Q^T Q = I");
    }
}
