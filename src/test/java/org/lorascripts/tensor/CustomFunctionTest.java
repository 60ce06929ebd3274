package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Operations with a hand-written backward: outputs tied to inputs, gradients from the Java backward. */
class CustomFunctionTest {
    /** y1 = a * b, y2 = a + 1 computed without history; backward written by hand. */
    private static List<Tensor> op(Tensor a, Tensor b, int[] calls) {
        Tensor y1, y2;
        try (var ng = Autograd.noGrad()) {
            y1 = a.mul(b);
            y2 = a.add(1);
        }
        return CustomFunction.apply((g, saved) -> {
            calls[0]++;
            Tensor sa = saved.get(0), sb = saved.get(1);
            return Arrays.asList(g.get(0).mul(sb).add(g.get(1)), g.get(0).mul(sa));
        }, List.of(a, b), List.of(y1, y2), List.of(a.detach(), b.detach()));
    }

    @Test
    void gradientsComeFromTheJavaBackwardAndMatchAutograd() {
        long mark = CustomFunction.mark();
        try (Scope s = Scope.open()) {
            Tensor a = Torch.of(new float[] {1, 2, 3}, 3).requiresGrad_(true);
            Tensor b = Torch.of(new float[] {4, -5, 6}, 3).requiresGrad_(true);
            int[] calls = {0};
            List<Tensor> y = op(a, b, calls);
            assertTrue(y.get(0).requiresGrad(), "outputs carry history");
            y.get(0).mul(Torch.of(new float[] {1, 10, 100}, 3)).sum().add(y.get(1).sum().mul(3)).backward();
            assertEquals(1, calls[0]);
            assertEquals(0, CustomFunction.pendingSince(mark), "the backward entry is released");
            // d/da = g1 * b + g2 = (1,10,100)*(4,-5,6) + 3; d/db = g1 * a
            assertArrayEquals(new double[] {7, -47, 603}, a.grad().toDoubleArray(), 1e-6);
            assertArrayEquals(new double[] {1, 20, 300}, b.grad().toDoubleArray(), 1e-6);

            // the same composed with autograd
            Tensor a2 = Torch.of(new float[] {1, 2, 3}, 3).requiresGrad_(true);
            Tensor b2 = Torch.of(new float[] {4, -5, 6}, 3).requiresGrad_(true);
            a2.mul(b2).mul(Torch.of(new float[] {1, 10, 100}, 3)).sum().add(a2.add(1).sum().mul(3)).backward();
            assertArrayEquals(a2.grad().toDoubleArray(), a.grad().toDoubleArray(), 1e-6);
            assertArrayEquals(b2.grad().toDoubleArray(), b.grad().toDoubleArray(), 1e-6);
        }
    }

    @Test
    void anUnusedOutputGetsZerosAndANullGradientReachesNoInput() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.of(new float[] {1, 2}, 2).requiresGrad_(true);
            Tensor b = Torch.of(new float[] {3, 4}, 2).requiresGrad_(true);
            Tensor y;
            try (var ng = Autograd.noGrad()) { y = a.mul(b); }
            List<double[]> seen = new java.util.ArrayList<>();
            Tensor out = CustomFunction.apply((g, saved) -> {
                seen.add(g.get(0).toDoubleArray());
                return Arrays.asList(g.get(0).mul(saved.get(0)), null);
            }, List.of(a, b), List.of(y), List.of(b.detach())).get(0);
            out.sum().backward();
            assertArrayEquals(new double[] {3, 4}, a.grad().toDoubleArray(), 1e-6);
            assertNull(b.grad(), "no gradient for the input the backward left out");
            assertArrayEquals(new double[] {1, 1}, seen.get(0), 0);
        }
    }

    @Test
    void withoutGradModeTheOutputsAreReturnedAsTheyAre() {
        long mark = CustomFunction.mark();
        try (Scope s = Scope.open(); var ng = Autograd.noGrad()) {
            Tensor a = Torch.of(new float[] {1}, 1).requiresGrad_(true);
            Tensor y = a.mul(2);
            List<Tensor> out = CustomFunction.apply((g, saved) -> { throw new AssertionError("no backward"); }, List.of(a), List.of(y), List.of());
            assertEquals(y.handle(), out.get(0).handle());
            assertEquals(0, CustomFunction.pendingSince(mark));
        }
    }

    @Test
    void aGraphDroppedWithoutItsBackwardReleasesTheEntry() {
        long mark = CustomFunction.mark();
        try (Scope s = Scope.open()) {
            Tensor a = Torch.of(new float[] {1, 2}, 2).requiresGrad_(true);
            Tensor y;
            try (var ng = Autograd.noGrad()) { y = a.mul(2); }
            Tensor out = CustomFunction.apply((g, saved) -> { throw new AssertionError("no backward"); }, List.of(a), List.of(y),
                    List.of(a.detach())).get(0);
            Tensor loss = out.sum();
            assertEquals(1, CustomFunction.pendingSince(mark), "registered while the graph lives");
            // the node is the history of y itself (libtorch ties the outputs in place), of out and of loss: with the
            // last of them the graph is freed without a backward
            y.close();
            out.close();
            loss.close();
            assertEquals(0, CustomFunction.pendingSince(mark), "the node's destruction released its backward");
        }
    }

    @Test
    void aFailingBackwardBecomesAnExceptionNotACrash() {
        try (Scope s = Scope.open()) {
            Tensor a = Torch.of(new float[] {1, 2}, 2).requiresGrad_(true);
            Tensor y;
            try (var ng = Autograd.noGrad()) { y = a.mul(2); }
            Tensor out = CustomFunction.apply((g, saved) -> { throw new IllegalStateException("boom"); }, List.of(a), List.of(y), List.of()).get(0);
            RuntimeException e = assertThrows(RuntimeException.class, () -> out.sum().backward());
            assertTrue(String.valueOf(e.getMessage()).contains("boom"), e.getMessage());
        }
    }
}
