package org.lorascripts.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * CUDA only: the NCCL backend on one GPU (a 1-rank group, as a one-GPU machine can run it): CUDA tensors of
 * several dtypes are all-reduced and broadcast in place, scalars summed, a barrier passes. On one rank the
 * sums are the rank's own values, so any corruption by the NCCL path (wrong buffer, dtype, stream) shows.
 */
class ProcessGroupNcclCudaTest {
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void oneRankNcclGroupReducesAndBroadcastsCudaTensors() throws Exception {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        assertTrue(ProcessGroup.ncclAvailable(), "the shim must have the NCCL backend on a CUDA machine");
        Device dev = Device.cuda(0);
        try (ProcessGroup g = ProcessGroup.join(new DistEnv("127.0.0.1", freePort(), 1, 0, 0), ProcessGroup.Backend.NCCL, Duration.ofSeconds(60));
             Scope s = Scope.open()) {
            assertEquals(ProcessGroup.Backend.NCCL, g.backend());
            Tensor a = Torch.arange(0, 1000, 1, DType.F32, dev).reshape(10, 100);
            Tensor b = Torch.arange(0, 64, 1, DType.F32, dev).to(DType.BF16);
            Tensor c = Torch.arange(0, 7, 1, DType.F32, dev).mul(-1.5);
            double[] before = a.toDoubleArray(), bb = b.to(DType.F32).toDoubleArray(), cb = c.toDoubleArray();
            g.allReduceSum(List.of(a, b, c));
            Cuda.synchronize(0);
            assertArrayEquals(before, a.toDoubleArray(), 0);
            assertArrayEquals(bb, b.to(DType.F32).toDoubleArray(), 0);
            assertArrayEquals(cb, c.toDoubleArray(), 0);
            g.allReduceMean(List.of(a));
            assertArrayEquals(before, a.toDoubleArray(), 0);
            assertArrayEquals(new double[] {2.5, -1}, g.allReduceSum(2.5, -1), 0);
            g.broadcast(List.of(b, c), 0);
            assertArrayEquals(bb, b.to(DType.F32).toDoubleArray(), 0);
            g.barrier();
        }
    }

    /**
     * The gradient sum overlapping backward on CUDA: the hooks run on the autograd engine's device thread, the
     * bucket copies on the stream that produced the gradients; on one rank each sum is the rank's own gradient.
     * With NCCL (device buffers) and with Gloo (buckets staged through host memory).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(ProcessGroup.Backend.class)
    void overlappedSumsOnCudaGiveTheGradientsOfBackward(ProcessGroup.Backend backend) throws Exception {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        Device dev = Device.cuda(0);
        try (ProcessGroup g = ProcessGroup.join(new DistEnv("127.0.0.1", freePort(), 1, 0, 0), backend, Duration.ofSeconds(60));
             Scope s = Scope.open()) {
            java.util.List<Tensor> ps = new java.util.ArrayList<>();
            for (int k = 0; k < 6; k++) ps.add(Torch.randn(new long[] {256, 256}, DType.F32, dev).mul_(0.05).requiresGrad_(true).keep());
            Tensor x = Torch.randn(new long[] {64, 256}, DType.F32, dev);
            java.util.function.Supplier<Tensor> loss = () -> {
                Tensor h = x;
                for (Tensor p : ps) h = h.matmul(p).tanh();
                return h.mul(h).sum();
            };
            loss.get().backward();
            java.util.List<double[]> want = new java.util.ArrayList<>();
            for (Tensor p : ps) {
                want.add(p.grad().toDoubleArray());
                p.zeroGrad();
            }
            try (ProcessGroup.Overlap o = g.attachOverlap(ps, 256 * 256 * 4)) {  // one layer per bucket
                assertEquals(6, o.buckets());
                for (int step = 0; step < 3; step++) {
                    o.arm();
                    loss.get().backward();
                    o.flush();
                    double[] used = g.allReduceSum(1, 1, 1, 1, 1, 1);
                    o.finish(used, false);
                    Cuda.synchronize(0);
                    for (int k = 0; k < ps.size(); k++) assertArrayEquals(want.get(k), ps.get(k).grad().toDoubleArray(), 1e-5, "layer " + k);
                    for (Tensor p : ps) p.zeroGrad();
                }
                ProcessGroup.OverlapStats st = o.stats();
                assertEquals(18, st.launchedInBackward(), st.toString());
                assertEquals(15, st.launchedEarly(), st.toString());
            }
        }
    }
}
