package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.lorascripts.ffi.DeviceOutOfMemoryException;

/** NN functions against hand-computed values. */
class FunctionalTest {
    private static final double EPS = 1e-6;

    @Test
    void conv2dByHand() {
        try (Scope s = Scope.open()) {
            // 1x1x3x3 input 1..9, 2x2 kernel of ones, stride 1, no padding: sums of 2x2 windows
            Tensor x = Torch.of(new double[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
            Tensor w = Torch.ones(new long[] {1, 1, 2, 2}, DType.F64, Device.CPU);
            assertArrayEquals(new double[] {12, 16, 24, 28}, Functional.conv2d(x, w, null, 1, 0, 1).toDoubleArray(), EPS);
            // padding 1, stride 2 with bias 1: windows at (-1,-1),(−1,1),(1,−1),(1,1)
            Tensor b = Torch.of(new double[] {1});
            assertArrayEquals(new double[] {2, 6, 12, 29}, Functional.conv2d(x, w, b, 2, 1, 1).toDoubleArray(), EPS);
        }
    }

    @Test
    void normalisations() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.of(new double[] {1, 2, 3, 4}, 1, 4);
            // mean 2.5, biased var 1.25
            double sd = Math.sqrt(1.25 + 1e-5);
            double[] expect = {(1 - 2.5) / sd, (2 - 2.5) / sd, (3 - 2.5) / sd, (4 - 2.5) / sd};
            assertArrayEquals(expect, Functional.layerNorm(x, new long[] {4}, null, null, 1e-5).toDoubleArray(), 1e-9);
            Tensor g = Torch.of(new double[] {1, 2, 3, 4}, 1, 4, 1, 1);  // 2 groups of 2 channels
            double sd2 = Math.sqrt(0.25 + 1e-5);
            Tensor gn = Functional.groupNorm(g, 2, Torch.of(new double[] {1, 1, 2, 2}), Torch.of(new double[] {0, 0, 0, 1}), 1e-5);
            assertArrayEquals(new double[] {-0.5 / sd2, 0.5 / sd2, -1 / sd2, 1 + 1 / sd2}, gn.toDoubleArray(), 1e-9);
            // RMS: x / sqrt(mean(x^2) + eps) * w ; mean(x^2) = 7.5
            double r = Math.sqrt(7.5 + 1e-6);
            Tensor rms = Functional.rmsNorm(x, Torch.of(new double[] {1, 1, 1, 2}), 1e-6);
            assertArrayEquals(new double[] {1 / r, 2 / r, 3 / r, 8 / r}, rms.toDoubleArray(), 1e-9);
            // f32 inputs come back as f32, computed in f32
            assertEquals(DType.F32, Functional.rmsNorm(x.to(DType.F32), null, 1e-6).dtype());
            assertEquals(DType.BF16, Functional.rmsNorm(x.to(DType.BF16), null, 1e-6).dtype());
        }
    }

    @Test
    void softmaxAndLogSoftmax() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.of(new double[] {1, 2, 3});
            double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
            assertArrayEquals(new double[] {Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z}, x.softmax(0).toDoubleArray(), 1e-12);
            assertArrayEquals(new double[] {1 - Math.log(z), 2 - Math.log(z), 3 - Math.log(z)}, x.logSoftmax(0).toDoubleArray(), 1e-12);
            Tensor h = x.to(DType.F16);
            assertEquals(DType.F32, Functional.softmax(h, 0, DType.F32).dtype());
        }
    }

    @Test
    void attentionMatchesHandComputation() {
        try (Scope s = Scope.open()) {
            // one head, Tq = 1, Tk = 2, D = 2: scores = q.k / sqrt(2)
            Tensor q = Torch.of(new double[] {1, 0}, 1, 1, 1, 2);
            Tensor k = Torch.of(new double[] {1, 0, 0, 1}, 1, 1, 2, 2);
            Tensor v = Torch.of(new double[] {10, 20, 30, 40}, 1, 1, 2, 2);
            double a = Math.exp(1 / Math.sqrt(2)), b = 1;
            double p0 = a / (a + b), p1 = b / (a + b);
            double[] expect = {10 * p0 + 30 * p1, 20 * p0 + 40 * p1};
            assertArrayEquals(expect, Functional.scaledDotProductAttention(q, k, v, null, 0, false, 0).toDoubleArray(), 1e-9);
            // masking out key 0 leaves value row 1
            Tensor mask = Torch.of(new boolean[] {false, true}, 1, 1, 1, 2);
            assertArrayEquals(new double[] {30, 40}, Functional.scaledDotProductAttention(q, k, v, mask, 0, false, 0).toDoubleArray(), 1e-9);
            // an additive float mask of -inf does the same
            Tensor add = Torch.of(new double[] {Double.NEGATIVE_INFINITY, 0}, 1, 1, 1, 2);
            assertArrayEquals(new double[] {30, 40}, Functional.scaledDotProductAttention(q, k, v, add, 0, false, 0).toDoubleArray(), 1e-9);
        }
    }

    @Test
    void fusedAttentionMatchesComposition() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(3);
            Tensor q = Torch.randn(new long[] {2, 3, 5, 8}, DType.F32, Device.CPU);
            Tensor k = Torch.randn(new long[] {2, 3, 7, 8}, DType.F32, Device.CPU);
            Tensor v = Torch.randn(new long[] {2, 3, 7, 8}, DType.F32, Device.CPU);
            Tensor mask = Torch.rand(new long[] {2, 1, 5, 7}, DType.F32, Device.CPU).gt(0.3);
            mask = mask.logicalOr(Torch.ones(new long[] {1, 1, 5, 1}, DType.BOOL, Device.CPU).expand(2, 1, 5, 7).logicalAnd(
                    Torch.of(new boolean[] {true, false, false, false, false, false, false}, 1, 1, 1, 7)));  // no fully masked rows
            for (boolean causal : new boolean[] {false, true}) {
                Tensor kk = causal ? k.narrow(2, 0, 5) : k, vv = causal ? v.narrow(2, 0, 5) : v;
                Tensor m = causal ? null : mask;
                float[] fused = Functional.scaledDotProductAttention(q, kk, vv, m, 0, causal, 0).toFloatArray();
                float[] composed = Functional.attentionComposed(q, kk, vv, m, causal, 0).toFloatArray();
                assertArrayEquals(composed, fused, 1e-5f, "causal=" + causal);
            }
        }
    }

    @Test
    void interpolation() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.of(new double[] {1, 2, 3, 4}, 1, 1, 2, 2);
            assertArrayEquals(new double[] {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4},
                    Functional.interpolate(x, 4, 4, Functional.Interpolation.NEAREST, false, false).toDoubleArray(), EPS);
            assertArrayEquals(new double[] {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4},
                    Functional.interpolate(x, 3, 3, Functional.Interpolation.BILINEAR, true, false).toDoubleArray(), EPS);
            // downscaling 4x4 -> 2x2 with antialias averages 2x2 blocks for a bilinear (triangle) filter of support 2
            Tensor big = Torch.arange(0, 16, 1, DType.F64, Device.CPU).view(1, 1, 4, 4);
            double[] aa = Functional.interpolate(big, 2, 2, Functional.Interpolation.BILINEAR, false, true).toDoubleArray();
            double[] plain = Functional.interpolate(big, 2, 2, Functional.Interpolation.BILINEAR, false, false).toDoubleArray();
            assertArrayEquals(new double[] {2.5, 4.5, 10.5, 12.5}, plain, EPS);
            // PIL-style triangle filter of support 2 input pixels: weights (3,3,1)/7 and (1,3,3)/7 per axis
            assertArrayEquals(new double[] {25.0 / 7, 36.0 / 7, 69.0 / 7, 80.0 / 7}, aa, 1e-9);
            double[] bic = Functional.interpolate(x, 2, 2, Functional.Interpolation.BICUBIC, false, false).toDoubleArray();
            assertArrayEquals(new double[] {1, 2, 3, 4}, bic, EPS);  // same size: identity
            assertArrayEquals(new long[] {1, 1, 4, 4}, Functional.interpolate(x, 2.0, 2.0, Functional.Interpolation.NEAREST).shape());
        }
    }

    @Test
    void embeddingPadPoolDropoutLosses() {
        try (Scope s = Scope.open()) {
            Tensor w = Torch.of(new double[] {0, 0, 1, 1, 2, 2}, 3, 2);
            assertArrayEquals(new double[] {2, 2, 0, 0}, Functional.embedding(w, Torch.of(new long[] {2, 0}), -1).toDoubleArray(), EPS);
            Tensor x = Torch.of(new double[] {1, 2}, 1, 2);
            assertArrayEquals(new double[] {0, 1, 2, 0, 0}, Functional.pad(x, new long[] {1, 2}, 0).toDoubleArray(), EPS);
            Tensor img = Torch.of(new double[] {1, 2, 3, 4}, 1, 1, 2, 2);
            assertEquals(2.5, Functional.avgPool2d(img, 2, 2).item(), EPS);
            Tensor ones = Torch.ones(new long[] {1000}, DType.F32, Device.CPU);
            assertArrayEquals(ones.toFloatArray(), Functional.dropout(ones, 0.5, false).toFloatArray());
            float[] d = Functional.dropout(ones, 0.5, true).toFloatArray();
            int zeros = 0;
            for (float v : d) {
                assertTrue(v == 0f || v == 2f, "kept values are scaled by 1/(1-p)");
                if (v == 0f) zeros++;
            }
            assertTrue(zeros > 400 && zeros < 600, "about half dropped: " + zeros);
            // cross-entropy: -log softmax(logits)[target], mean over non-ignored rows
            Tensor logits = Torch.of(new double[] {1, 2, 3, 1, 1, 1}, 2, 3);
            double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
            double l0 = -(3 - Math.log(z)), l1 = Math.log(3);
            assertEquals((l0 + l1) / 2, Functional.crossEntropy(logits, Torch.of(new long[] {2, 0})).item(), 1e-9);
            assertEquals(l0, Functional.crossEntropy(logits, Torch.of(new long[] {2, -100})).item(), 1e-9);
            assertArrayEquals(new double[] {l0, 0}, Functional.crossEntropy(logits, Torch.of(new long[] {2, -100}),
                    Functional.Reduction.NONE, -100, 0).toDoubleArray(), 1e-9);
            assertEquals(2.5, Functional.mseLoss(Torch.of(new double[] {1, 2}), Torch.of(new double[] {0, 4}), Functional.Reduction.MEAN).item(), EPS);
        }
    }

    @Test
    void outOfMemoryIsItsOwnExceptionWithAHint() {
        // 2^46 floats = 256 TiB: the allocator refuses at once
        DeviceOutOfMemoryException e = assertThrows(DeviceOutOfMemoryException.class,
                () -> Torch.empty(new long[] {1L << 46}, DType.F32, Device.CPU));
        assertTrue(e.getMessage().contains("batch_size") && e.getMessage().contains("gradient_checkpointing"), e.getMessage());
    }
}
