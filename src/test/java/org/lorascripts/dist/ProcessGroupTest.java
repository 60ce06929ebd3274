package org.lorascripts.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Collectives of {@link ProcessGroup} over c10d's TCPStore and Gloo, with the ranks as threads of this JVM
 * (c10d allows several ranks in one process: each has its own store client and process group). Expected
 * values are computed here from what each rank contributed.
 */
class ProcessGroupTest {
    @BeforeAll static void needsDist() {
        assumeTrue(ProcessGroup.available(), "the native shim was built without c10d/gloo (apt-get install libgloo-dev)");
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    interface RankBody<T> { T run(ProcessGroup g) throws Exception; }

    /** Runs body on `world` ranks (threads), each in its own group; returns the results by rank. */
    static <T> List<T> onRanks(int world, Duration timeout, RankBody<T> body) throws Exception {
        int port = freePort();
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<T>> fs = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try (ProcessGroup g = ProcessGroup.join(new DistEnv("127.0.0.1", port, world, rank, rank), ProcessGroup.Backend.GLOO, timeout)) {
                        return body.run(g);
                    }
                }));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : fs) out.add(f.get(60, TimeUnit.SECONDS));
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest @ValueSource(ints = {2, 4})
    void allReduceSumsAndAveragesEveryTensorOfTheList(int world) throws Exception {
        List<double[][]> got = onRanks(world, Duration.ofSeconds(30), g -> {
            try (Scope s = Scope.open()) {
                int r = g.rank();
                // f32 and f64 in one call (separate buckets), a non-contiguous view, a scalar
                Tensor a = Torch.arange(0, 6, 1, DType.F32, Device.CPU).add(r).reshape(2, 3);
                Tensor b = Torch.full(new long[] {4}, r + 1, DType.F64, Device.CPU);
                Tensor c = Torch.arange(0, 6, 1, DType.F32, Device.CPU).reshape(3, 2).mul(r + 1).transpose(0, 1);
                Tensor d = Torch.full(new long[0], 10.0 * r, DType.F32, Device.CPU);
                g.allReduceSum(List.of(a, b, c, d));
                Tensor m = Torch.full(new long[] {3}, r, DType.F32, Device.CPU);
                g.allReduceMean(List.of(m));
                double[] v = g.allReduceSum(r, 1.0);
                return new double[][] {a.contiguous().toDoubleArray(), b.toDoubleArray(), c.contiguous().toDoubleArray(),
                        d.toDoubleArray(), m.toDoubleArray(), v};
            }
        });
        double sumR = world * (world - 1) / 2.0;
        double sumR1 = world * (world + 1) / 2.0;
        for (double[][] res : got) {
            double[] a = new double[6], c = new double[6];
            for (int i = 0; i < 6; i++) a[i] = world * i + sumR;
            // c = (arange(6).reshape(3,2) * (r+1)).t(), summed
            double[][] base = {{0, 2, 4}, {1, 3, 5}};
            for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) c[i * 3 + j] = base[i][j] * sumR1;
            assertArrayEquals(a, res[0], 1e-6);
            assertArrayEquals(new double[] {sumR1, sumR1, sumR1, sumR1}, res[1], 0);
            assertArrayEquals(c, res[2], 1e-6);
            assertArrayEquals(new double[] {10 * sumR}, res[3], 1e-5);
            assertArrayEquals(new double[] {sumR / world, sumR / world, sumR / world}, res[4], 1e-6);
            assertArrayEquals(new double[] {sumR, world}, res[5], 0);
        }
    }

    @ParameterizedTest @ValueSource(ints = {2, 4})
    void broadcastCopiesTheRootsTensorsToEveryRank(int world) throws Exception {
        int root = world - 1;
        List<double[][]> got = onRanks(world, Duration.ofSeconds(30), g -> {
            try (Scope s = Scope.open()) {
                Tensor a = Torch.full(new long[] {2, 2}, 100 + g.rank(), DType.F32, Device.CPU);
                Tensor b = Torch.full(new long[] {3}, -g.rank(), DType.BF16, Device.CPU);
                g.broadcast(List.of(a, b), root);
                Tensor z = Torch.full(new long[] {2}, g.rank() + 0.5, DType.F64, Device.CPU);
                g.broadcast(List.of(z), 0);
                g.barrier();
                return new double[][] {a.toDoubleArray(), b.to(DType.F64).toDoubleArray(), z.toDoubleArray()};
            }
        });
        for (double[][] res : got) {
            assertArrayEquals(new double[] {100 + root, 100 + root, 100 + root, 100 + root}, res[0], 0);
            assertArrayEquals(new double[] {-root, -root, -root}, res[1], 0);
            assertArrayEquals(new double[] {0.5, 0.5}, res[2], 0);
        }
    }

    @Test void aRankThatLeftMakesTheOthersFailWithAClearErrorNotAHang() throws Exception {
        long t0 = System.nanoTime();
        List<String> got = onRanks(2, Duration.ofSeconds(20), g -> {
            if (g.rank() == 1) return "left";  // closes its group (connections) without taking part
            try (Scope s = Scope.open()) {
                Tensor a = Torch.ones(3);
                DistributedException e = assertThrows(DistributedException.class, () -> g.allReduceSum(List.of(a)));
                return e.getMessage();
            }
        });
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(got.get(0).startsWith("rank 0 of 2: all_reduce failed"), got.get(0));
        assertTrue(seconds < 20, "the closed connection is seen before the timeout, took " + seconds + " s");
    }

    @Test void aSilentRankMakesTheOthersFailWithinTheTimeout() throws Exception {
        long t0 = System.nanoTime();
        List<String> got = onRanks(2, Duration.ofSeconds(3), g -> {
            if (g.rank() == 1) {
                Thread.sleep(8000);  // alive, connected, but never joins the collective
                return "slept";
            }
            try (Scope s = Scope.open()) {
                DistributedException e = assertThrows(DistributedException.class, () -> g.allReduceSum(List.of(Torch.ones(3))));
                return e.getMessage() + " after " + (System.nanoTime() - t0) / 1e9;
            }
        });
        assertTrue(got.get(0).contains("all_reduce failed") && got.get(0).contains("timeout 3 s"), got.get(0));
        double seconds = Double.parseDouble(got.get(0).substring(got.get(0).lastIndexOf(' ') + 1));
        assertTrue(seconds < 8, "failed after " + seconds + " s, the timeout is 3 s");
    }

    @Test void joiningAGroupWhoseOtherRanksNeverComeFailsAfterTheTimeout() throws Exception {
        int port = freePort();
        long t0 = System.nanoTime();
        DistributedException e = assertThrows(DistributedException.class,
                () -> ProcessGroup.join(new DistEnv("127.0.0.1", port, 2, 0, 0), ProcessGroup.Backend.GLOO, Duration.ofSeconds(2)));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(e.getMessage().startsWith("rank 0 of 2 could not join the group at 127.0.0.1:" + port + " within 2 s"), e.getMessage());
        assertTrue(seconds < 30, "took " + seconds + " s");
    }

    // ---- the gradient sum overlapping backward (ProcessGroup.attachOverlap) ----

    static final int H = 8;

    /** A chain of 4 [H,H] layers (parameters 1..4), the same on every rank; parameter 0 ([H]) is used by none. */
    static List<Tensor> chain() {
        java.util.Random r = new java.util.Random(11);
        List<Tensor> ps = new ArrayList<>();
        for (int k = 0; k < 5; k++) {
            int n = k > 0 ? H * H : H;
            double[] v = new double[n];
            for (int i = 0; i < n; i++) v[i] = r.nextGaussian() * 0.4;
            ps.add(Torch.of(v, k > 0 ? new long[] {H, H} : new long[] {H}).to(DType.F32, Device.CPU).requiresGrad_(true).keep());
        }
        return ps;
    }

    /** The loss of micro-batch {@code mb} of rank {@code rank}: tanh layers over `layers` of the chain. */
    static Tensor loss(List<Tensor> ps, int rank, int mb, int layers) {
        java.util.Random r = new java.util.Random(100 + 10 * rank + mb);
        double[] v = new double[3 * H];
        for (int i = 0; i < v.length; i++) v[i] = r.nextGaussian();
        Tensor h = Torch.of(v, 3, H).to(DType.F32, Device.CPU);
        for (int k = 1; k <= layers; k++) h = h.matmul(ps.get(k)).tanh();
        return h.mul(h).sum();
    }

    /** The gradients (null where none) that backward of the given (rank, micro-batch, layers) losses leaves, summed. */
    static double[][] expected(List<Tensor> ps, int[][] losses) {
        for (Tensor p : ps) p.zeroGrad();
        for (int[] l : losses) loss(ps, l[0], l[1], l[2]).backward();
        double[][] g = new double[ps.size()][];
        for (int i = 0; i < ps.size(); i++) {
            Tensor gr = ps.get(i).grad();
            g[i] = gr == null ? null : gr.toDoubleArray();
            ps.get(i).zeroGrad();
        }
        return g;
    }

    static double[] used(List<Tensor> ps, ProcessGroup g) {
        double[] u = new double[ps.size()];
        for (int i = 0; i < u.length; i++) u[i] = ps.get(i).grad() != null ? 1 : 0;
        return g.allReduceSum(u);
    }

    static void assertGrads(double[][] want, List<Tensor> ps, String who) {
        for (int i = 0; i < want.length; i++) {
            Tensor gr = ps.get(i).grad();
            if (want[i] == null) {
                assertTrue(gr == null, who + ": parameter " + i + " was reached by no rank and keeps no gradient");
            } else {
                assertTrue(gr != null, who + ": parameter " + i + " has no gradient");
                assertArrayEquals(want[i], gr.toDoubleArray(), 1e-5, who + ": parameter " + i);
            }
        }
    }

    @Test void overlappedSumsLeaveDuringBackwardInBucketOrderAndEqualTheSumOfTheRanksGradients() throws Exception {
        List<String> got = onRanks(2, Duration.ofSeconds(30), g -> {
            try (Scope s = Scope.open()) {
                List<Tensor> ps = chain();
                double[][] want = expected(ps, new int[][] {{0, 0, 4}, {1, 0, 4}});  // both ranks' losses, here
                // one layer per bucket: 4 buckets of [H,H] f32 (layer 4 first), then the unused [H] one
                try (ProcessGroup.Overlap o = g.attachOverlap(ps, H * H * 4)) {
                    assertEquals(5, o.buckets());
                    for (int step = 0; step < 2; step++) {
                        o.arm();
                        loss(ps, g.rank(), 0, 4).backward();
                        ProcessGroup.OverlapStats mid = o.stats();
                        o.flush();
                        o.finish(used(ps, g), false);
                        assertGrads(want, ps, "rank " + g.rank() + " step " + step);
                        for (Tensor p : ps) p.zeroGrad();
                        // backward produces layer 4's gradient first: bucket 0 leaves while layers 3..1's gradients
                        // are still being computed, and so on; the unused parameter's bucket (the last) waits for flush
                        assertTrue(mid.launchedEarly() >= 3 * (step + 1), "step " + step + ": " + mid);
                    }
                    ProcessGroup.OverlapStats st = o.stats();
                    assertEquals(new ProcessGroup.OverlapStats(5, 2, 8, 6, 2, 0), st);
                    return st.toString();
                }
            }
        });
        assertEquals(got.get(0), got.get(1));
    }

    @Test void aRankWithoutBackwardOrWithUnusedParametersSendsZerosInsteadOfHanging() throws Exception {
        long t0 = System.nanoTime();
        List<String> got = onRanks(2, Duration.ofSeconds(20), g -> {
            try (Scope s = Scope.open()) {
                List<Tensor> ps = chain();
                // step 1: rank 0 reaches layers 1..3 only, rank 1 all 4; step 2: rank 1 has no micro-batch
                double[][] want1 = expected(ps, new int[][] {{0, 0, 3}, {1, 0, 4}});
                double[][] want2 = expected(ps, new int[][] {{0, 1, 4}});
                try (ProcessGroup.Overlap o = g.attachOverlap(ps, H * H * 4)) {
                    o.arm();
                    loss(ps, g.rank(), 0, g.rank() == 0 ? 3 : 4).backward();
                    o.flush();
                    o.finish(used(ps, g), false);
                    assertGrads(want1, ps, "rank " + g.rank() + " step 1");
                    for (Tensor p : ps) p.zeroGrad();
                    if (g.rank() == 0) {
                        o.arm();
                        loss(ps, 0, 1, 4).backward();
                    }
                    o.flush();
                    o.finish(used(ps, g), false);
                    assertGrads(want2, ps, "rank " + g.rank() + " step 2");
                    return o.stats().toString();
                }
            }
        });
        assertTrue((System.nanoTime() - t0) / 1e9 < 20, "no collective waited for its timeout");
        // rank 0, step 1: layer 4 (bucket 0) never comes, so every bucket waits for flush
        assertTrue(got.get(0).contains("launchedInBackward=4,"), got.get(0));
        assertTrue(got.get(1).contains("steps=1,") && got.get(1).contains("launchedAfterBackward=6,"), got.get(1));
    }

    @Test void earlierMicroBatchesOfTheWindowOnlyAccumulate() throws Exception {
        List<String> got = onRanks(2, Duration.ofSeconds(30), g -> {
            try (Scope s = Scope.open()) {
                // hooks only go on leaves that require grad (DataParallel then sums after backward, with one line)
                DistributedException e = assertThrows(DistributedException.class, () -> g.attachOverlap(List.of(Torch.ones(3)), 1024));
                assertEquals("overlap: parameter 0 is not a leaf tensor that requires grad", e.getMessage());
                List<Tensor> ps = chain();
                double[][] want = expected(ps, new int[][] {{0, 0, 4}, {0, 1, 4}, {1, 0, 4}, {1, 1, 4}});
                try (ProcessGroup.Overlap o = g.attachOverlap(ps, H * H * 4)) {
                    loss(ps, g.rank(), 0, 4).backward();  // not armed: nothing leaves
                    ProcessGroup.OverlapStats before = o.stats();
                    o.arm();
                    loss(ps, g.rank(), 1, 4).backward();
                    o.flush();
                    o.finish(used(ps, g), false);
                    assertGrads(want, ps, "rank " + g.rank());
                    assertEquals(0, before.launchedInBackward(), before.toString());
                    return o.stats().toString();
                }
            }
        });
        assertEquals("OverlapStats[buckets=5, steps=1, launchedInBackward=4, launchedEarly=3, launchedAfterBackward=1, lateGradients=0]", got.get(0));
        assertEquals(got.get(0), got.get(1));
    }

    @Test void theEnvironmentOfALauncherIsReadAndCheckedLikeTorchrunsOne() {
        assertTrue(DistEnv.from(Map.of()).isEmpty(), "no WORLD_SIZE: a single-process run");
        DistEnv e = DistEnv.from(Map.of("WORLD_SIZE", "4", "RANK", "2", "LOCAL_RANK", "0", "MASTER_ADDR", "node1", "MASTER_PORT", "29500")).orElseThrow();
        assertEquals(new DistEnv("node1", 29500, 4, 2, 0), e);
        assertEquals(new DistEnv("127.0.0.1", 29501, 2, 1, 1), DistEnv.from(Map.of("WORLD_SIZE", "2", "RANK", "1", "MASTER_PORT", "29501")).orElseThrow());
        assertEquals("RANK 4 is outside 0..3 (WORLD_SIZE 4)", assertThrows(DistributedException.class,
                () -> DistEnv.from(Map.of("WORLD_SIZE", "4", "RANK", "4", "MASTER_PORT", "1"))).getMessage());
        assertEquals("WORLD_SIZE='two' is not an integer", assertThrows(DistributedException.class,
                () -> DistEnv.from(Map.of("WORLD_SIZE", "two"))).getMessage());
        assertTrue(assertThrows(DistributedException.class, () -> DistEnv.from(Map.of("WORLD_SIZE", "2", "RANK", "0")))
                .getMessage().startsWith("WORLD_SIZE is set but MASTER_PORT is not"));
        assertEquals(e, DistEnv.from(e.toEnvironment()).orElseThrow());
    }
}
