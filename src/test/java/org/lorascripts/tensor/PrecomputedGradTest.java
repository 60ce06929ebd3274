package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Autograd.withPrecomputedGrad: the value passes through, backward sends gradOut * grad to the input. */
class PrecomputedGradTest {

    @Test
    void backwardScalesTheGivenGradientAndSendsItToTheInput() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.of(new double[] {1, -2, 3, 0.5, 4, -1}, 2, 3).requiresGrad_(true);
            Tensor y = x.mul(x).sum().mul(0.5);                       // d y / d x = x
            Tensor value, grad;
            try (var ng = Autograd.noGrad()) {
                value = x.mul(x).sum().mul(0.5);
                grad = x.copy();
            }
            Tensor z = Autograd.withPrecomputedGrad(value, x, grad);
            assertEquals(y.item(), z.item(), 0);
            assertTrue(z.requiresGrad());
            z.mul(3).backward();                                       // gradOut = 3
            assertArrayEquals(new double[] {3, -6, 9, 1.5, 12, -3}, x.grad().toDoubleArray(), 0);
            // the reference: the same through autograd
            x.zeroGrad();
            y.mul(3).backward();
            assertArrayEquals(new double[] {3, -6, 9, 1.5, 12, -3}, x.grad().toDoubleArray(), 0);
        }
    }

    @Test
    void gradientReachesTheInputsOfTheInputAndTakesItsDType() {
        try (Scope s = Scope.open()) {
            Tensor w = Torch.of(new double[] {2, 3}, 2).requiresGrad_(true);
            Tensor x = w.mul(10);                                      // a non-leaf: the gradient flows on to w
            Tensor grad = Torch.of(new float[] {1, 0.5f}, 2);          // f32 gradient for an f64 input
            Tensor z = Autograd.withPrecomputedGrad(Torch.full(new long[0], 7, DType.F32, Device.CPU), x, grad);
            assertEquals(DType.F32, z.dtype());
            z.backward();
            assertEquals(DType.F64, w.grad().dtype());
            assertArrayEquals(new double[] {10, 5}, w.grad().toDoubleArray(), 0);
        }
    }

    @Test
    void valueAndGradGetNoGradientAndShapesMustMatch() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.of(new double[] {1, 2}, 2).requiresGrad_(true);
            Tensor v = Torch.of(new double[] {5}, 1).reshape().requiresGrad_(true);
            Tensor g = Torch.of(new double[] {1, 1}, 2).requiresGrad_(true);
            Autograd.withPrecomputedGrad(v, x, g).backward();
            assertArrayEquals(new double[] {1, 1}, x.grad().toDoubleArray(), 0);
            assertNull(v.grad());
            assertNull(g.grad());
            Tensor wrong = Torch.of(new double[] {1, 1, 1}, 3);
            RuntimeException e = assertThrows(RuntimeException.class, () -> Autograd.withPrecomputedGrad(v, x, wrong));
            assertTrue(e.getMessage().contains("shape"), e.getMessage());
            try (var ng = Autograd.noGrad()) {
                assertFalse(Autograd.withPrecomputedGrad(v, x, g).requiresGrad(), "no graph under no-grad");
            }
        }
    }
}
