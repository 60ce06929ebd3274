package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** conv2d's input gradient as a transposed convolution, against autograd's, over strides, paddings, odd sizes and groups. */
class Conv2dInputGradientTest {
    @Test
    void equalsAutogradsInputGradient() {
        int[][] cases = {   // kernel, stride, padding, groups, H, W
            {3, 1, 1, 1, 9, 7}, {3, 2, 1, 1, 9, 8}, {3, 2, 1, 1, 8, 8}, {1, 1, 0, 1, 5, 6}, {3, 2, 0, 1, 10, 11},
            {4, 3, 1, 1, 13, 12}, {3, 1, 1, 2, 6, 6}, {1, 2, 0, 1, 7, 7},
        };
        Rng.manualSeed(11);
        for (int[] c : cases) {
            int k = c[0], stride = c[1], pad = c[2], groups = c[3];
            try (Scope s = Scope.open()) {
                Tensor x = Torch.randn(new long[] {2, 4, c[4], c[5]}, DType.F64, Device.CPU).requiresGrad_(true);
                Tensor w = Torch.randn(new long[] {6, 4 / groups, k, k}, DType.F64, Device.CPU);
                Tensor y = Functional.conv2d(x, w, null, stride, pad, groups);
                Tensor g = Torch.randn(y.shape(), DType.F64, Device.CPU);
                y.backward(g, false);
                Tensor gx = Functional.conv2dInputGradient(g, w, x.shape(), stride, pad, groups);
                assertArrayEquals(x.shape(), gx.shape(), java.util.Arrays.toString(c));
                assertArrayEquals(x.grad().toDoubleArray(), gx.toDoubleArray(), 1e-12, java.util.Arrays.toString(c));
            }
        }
    }

    @Test
    void aGradientOfAnotherShapeIsRefused() {
        try (Scope s = Scope.open()) {
            Tensor w = Torch.randn(new long[] {6, 4, 3, 3}, DType.F32, Device.CPU);
            Tensor g = Torch.randn(new long[] {1, 6, 4, 4}, DType.F32, Device.CPU);
            var e = assertThrows(IllegalArgumentException.class, () -> Functional.conv2dInputGradient(g, w, new long[] {1, 4, 12, 12}, 1, 1, 1));
            assertTrue(e.getMessage().contains("does not come from an input of shape [1, 4, 12, 12]"), e.getMessage());
        }
    }
}
