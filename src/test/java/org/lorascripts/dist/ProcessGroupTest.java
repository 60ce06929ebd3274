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
