package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
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
    void randomDrawsStillWorkAfterACaptureThatASynchronisingOpInvalidated() {
        assumeTrue(CudaGraph.isAvailable(), "no CUDA graphs here (CPU build or no GPU)");
        Device dev = Device.cuda(0);
        Rng.manualSeed(dev, 7);
        double[] first;
        try (Tensor r = Torch.randn(new long[] {8}, DType.F32, dev)) { first = r.toDoubleArray(); }
        // a random draw, then a read to the host: not capturable, so the capture fails and never ends normally
        assertThrows(RuntimeException.class, () -> CudaGraph.capture(dev, 0, () -> {
            try (Scope s = Scope.open()) { Torch.randn(new long[] {4}, DType.F32, dev).sum().item(); }
        }));
        try (Tensor r = Torch.randn(new long[] {8}, DType.F32, dev)) {
            assertEquals(8, r.toDoubleArray().length, "a random draw outside any graph works again");
        }
        Rng.manualSeed(dev, 7);
        try (Tensor r = Torch.randn(new long[] {8}, DType.F32, dev)) {
            assertArrayEquals(first, r.toDoubleArray(), 0, "and a seed still gives the same draws");
        }
        try (Tensor x = Torch.zeros(new long[] {4}, DType.F32, dev);
             CudaGraph g = CudaGraph.capture(dev, 1, () -> { try (Scope s = Scope.open()) { x.copy_(Torch.rand(new long[] {4}, DType.F32, dev)); } })) {
            g.replay();
            double[] a = x.toDoubleArray();
            g.replay();
            assertFalse(java.util.Arrays.equals(a, x.toDoubleArray()), "a later capture draws new numbers on each replay");
        }
    }

    /**
     * Every capture runs on one side stream per device, so the first capture's one-time costs (that stream's cuBLAS
     * workspace: 32 MiB on Hopper) are not paid again: capturing and freeing more graphs, as one per bucket shape
     * does, leaves the allocated bytes where the first left them.
     */
    @Test
    void laterCapturesLeaveNothingAllocated() {
        assumeTrue(CudaGraph.isAvailable(), "no CUDA graphs here (CPU build or no GPU)");
        Device dev = Device.cuda(0);
        assumeTrue(Cuda.memory(0).isPresent(), "no memory statistics in this shim");
        try (Tensor a = Torch.randn(new long[] {512, 512}, DType.F32, dev); Tensor b = Torch.randn(new long[] {512, 512}, DType.F32, dev);
             Tensor out = Torch.zeros(new long[] {512, 512}, DType.F32, dev)) {
            try (Scope s = Scope.open()) { out.copy_(a.matmul(b)); }  // the default stream's own workspace, before counting
            Cuda.synchronize(0);
            long before = Cuda.memory(0).orElseThrow().allocated();
            long[] after = new long[4];
            for (int i = 0; i < after.length; i++) {
                try (CudaGraph g = CudaGraph.capture(dev, 1, () -> { try (Scope s = Scope.open()) { out.copy_(a.matmul(b).add(1)); } })) {
                    g.replay();
                }
                Cuda.synchronize(0);
                after[i] = Cuda.memory(0).orElseThrow().allocated();
            }
            System.out.printf("CUDA graph captures: first leaves %.1f MiB allocated, the next %d leave %d bytes more%n",
                    (after[0] - before) / 1048576.0, after.length - 1, after[after.length - 1] - after[0]);
            assertTrue(after[0] - before <= 64L << 20, "the first capture leaves " + (after[0] - before) + " bytes");
            for (int i = 1; i < after.length; i++) assertEquals(after[0], after[i], "capture " + (i + 1) + " left memory allocated");
        }
    }

    @Test
    void refusesTheCpu() {
        assertThrows(IllegalArgumentException.class, () -> CudaGraph.capture(Device.CPU, 0, () -> {}));
    }
}
