package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/** CUDA only (skipped elsewhere): capture, replay with new inputs, a training-like step with autograd. */
class CudaGraphTest {
    @Test
    void replayRecomputesFromTheCurrentInputs() {
        assumeTrue(CudaGraph.isAvailable(), "no CUDA graphs here (CPU build or no GPU)");
        Device dev = Device.cuda(0);
        try (Tensor x = Torch.zeros(new long[] {4}, DType.F32, dev); Tensor y = Torch.zeros(new long[] {4}, DType.F32, dev)) {
            int[] runs = {0};
            try (CudaGraph g = CudaGraph.capture(dev, 1, () -> {
                runs[0]++;
                try (Scope s = Scope.open()) { y.copy_(x.mul(2).add(1)); }
            })) {
                assertEquals(2, runs[0], "one warm-up and one captured run");
                try (Tensor src = Torch.arange(0, 4, 1, DType.F32, dev)) { x.copy_(src); }
                g.replay();
                assertArrayEquals(new double[] {1, 3, 5, 7}, y.toDoubleArray(), 0);
                assertEquals(2, runs[0], "a replay runs no Java");
            }
        }
    }

    @Test
    void aCapturedBackwardAndUpdateRepeatOnReplay() {
        assumeTrue(CudaGraph.isAvailable(), "no CUDA graphs here (CPU build or no GPU)");
        Device dev = Device.cuda(0);
        try (Tensor w = Torch.ones(new long[] {3}, DType.F32, dev).requiresGrad_(true); Tensor x = Torch.ones(new long[] {3}, DType.F32, dev)) {
            Runnable step = () -> {
                try (Scope s = Scope.open()) {
                    Tensor loss = w.mul(x).sum();
                    loss.backward();
                    try (Autograd.GradMode ng = Autograd.noGrad()) { w.sub_(w.grad().mul(0.5)); }
                    w.zeroGrad();
                }
            };
            try (CudaGraph g = CudaGraph.capture(dev, 1, step)) {     // w: 1 -> 0.5 (warm-up); capturing records without running
                g.replay();                                           // -> 0
                g.replay();                                           // -> -0.5
                assertArrayEquals(new double[] {-0.5, -0.5, -0.5}, w.toDoubleArray(), 1e-6);
            }
        }
    }

    @Test
    void aFailingBodyIsReportedNotCaptured() {
        assumeTrue(CudaGraph.isAvailable(), "no CUDA graphs here (CPU build or no GPU)");
        assertThrows(RuntimeException.class, () -> CudaGraph.capture(Device.cuda(0), 0, () -> { throw new IllegalStateException("boom"); }));
    }

    @Test
    void refusesTheCpu() {
        assertThrows(IllegalArgumentException.class, () -> CudaGraph.capture(Device.CPU, 0, () -> {}));
    }
}
