package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lorascripts.dist.DistEnv;
import org.lorascripts.dist.ProcessGroup;
import org.lorascripts.tensor.Rng;

/**
 * The loop's data-parallel hook ({@link GradientSync}) with ranks as threads of this JVM over Gloo: W ranks of
 * batch b give the losses and weights of one process with batch b·W, also when the epoch's last step has fewer
 * micro-batches than ranks (10 examples: the ranks without one send zero gradients), and although rank 1 starts
 * from other LoRA weights (rank 0's are broadcast). Only rank 0 writes files.
 */
class DataParallelLoopTest {
    @TempDir Path dir;

    private record Outcome(double[] losses, float[] weights, TrainingResult result, ProcessGroup.OverlapStats overlap) {}

    private Outcome single(int batch) throws Exception { return single(batch, 1); }

    private Outcome single(int batch, int accumulation) throws Exception {
        LoopFixture f = fixture(dir.resolve("single-b" + batch + "-a" + accumulation), batch, accumulation);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            TrainingResult r = f.run(task);
            return new Outcome(f.losses(), task.weights(), r, null);
        }
    }

    private static LoopFixture fixture(Path out, int batch) { return fixture(out, batch, 1); }

    private static LoopFixture fixture(Path out, int batch, int accumulation) {
        return new LoopFixture(out).set("batch_size", batch).set("epochs", 3).set("max_grad_norm", 0.5)
                .set("gradient_accumulation_steps", accumulation);
    }

    private List<Outcome> ranks(int world, int batch) throws Exception { return ranks(world, batch, 1, ProcessGroup.BUCKET_BYTES); }

    /** {@code world} ranks of batch {@code batch}; {@code bucketBytes} caps the overlapped sum's buckets (0: sum after backward). */
    private List<Outcome> ranks(int world, int batch, int accumulation, long bucketBytes) throws Exception {
        assumeTrue(ProcessGroup.available(), "the native shim was built without c10d/gloo (apt-get install libgloo-dev)");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        // tasks are made one after the other (torch's generator is global); rank r > 0 from another seed
        List<ToyLoraTask> tasks = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            tasks.add(LoopFixture.task(10, 0, 0.0));
            if (r == 0) Rng.manualSeed(LoopFixture.SEED + 99);
        }
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<Outcome>> fs = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                int rank = r;
                int p = port;
                fs.add(pool.submit(() -> {
                    LoopFixture f = fixture(dir.resolve("w" + world + "-a" + accumulation + "-c" + bucketBytes + "-rank" + rank), batch, accumulation);
                    try (ProcessGroup g = ProcessGroup.join(new DistEnv("127.0.0.1", p, world, rank, rank), ProcessGroup.Backend.GLOO,
                            Duration.ofSeconds(60))) {
                        DataParallel dp = new DataParallel(g, bucketBytes);
                        TrainingResult res = new TrainingLoop(f.config(), tasks.get(rank), org.lorascripts.tensor.Device.CPU,
                                f.options(new Resume.None())).withGradientSync(dp).run();
                        return new Outcome(f.losses(), tasks.get(rank).weights(), res, dp.overlapStats().orElse(null));
                    }
                }));
            }
            List<Outcome> out = new ArrayList<>();
            for (Future<Outcome> f : fs) out.add(f.get(120, TimeUnit.SECONDS));
            return out;
        } finally {
            pool.shutdownNow();
            for (ToyLoraTask t : tasks) t.close();
        }
    }

    @ParameterizedTest(name = "{0} ranks x batch {1}")
    @CsvSource({"2, 2", "4, 1"})
    void ranksGiveOneProcessWithTheGlobalBatch(int world, int batch) throws Exception {
        Outcome one = single(batch * world);
        List<Outcome> ranks = ranks(world, batch);
        assertEquals(9, one.losses().length, "3 epochs of ceil(10/4) = 3 steps");
        for (int r = 0; r < world; r++) {
            Outcome o = ranks.get(r);
            assertEquals(9, o.result().steps(), "rank " + r);
            assertArrayEquals(one.losses(), o.losses(), 1e-6, "rank " + r + ": the global batch's loss each step");
            float[] w = o.weights();
            for (int i = 0; i < w.length; i++) assertEquals(one.weights()[i], w[i], 1e-5, "rank " + r + ", weight " + i);
        }
        assertTrue(one.losses()[8] < one.losses()[0], "the run learns, so equal losses mean equal updates");
        // only rank 0 writes the adapter, checkpoints and logs
        Path rank0 = dir.resolve("w" + world + "-a1-c" + ProcessGroup.BUCKET_BYTES + "-rank0");
        Path rank1 = dir.resolve("w" + world + "-a1-c" + ProcessGroup.BUCKET_BYTES + "-rank1");
        assertTrue(list(rank0).contains(".safetensors"), list(rank0));
        assertTrue(Files.isDirectory(rank0.resolve("checkpoints")) && Files.isDirectory(rank0.resolve("logs")), list(rank0));
        // (the loop's writability check leaves an empty checkpoints folder behind on every rank)
        assertFalse(Files.exists(rank1.resolve("logs")) || list(rank1).contains(".safetensors"), list(rank1));
        assertEquals("[]", Files.isDirectory(rank1.resolve("checkpoints")) ? list(rank1.resolve("checkpoints")) : "[]");
    }

    private static void assertSameRun(Outcome want, Outcome got, double tol, String who) {
        assertEquals(want.losses().length, got.losses().length, who);
        assertArrayEquals(want.losses(), got.losses(), 1e-6, who + ": the global batch's loss each step");
        for (int i = 0; i < want.weights().length; i++) assertEquals(want.weights()[i], got.weights()[i], tol, who + ", weight " + i);
    }

    @ParameterizedTest(name = "{0} ranks x batch {1}")
    @CsvSource({"2, 2", "4, 1"})
    void theSumOverlappingBackwardGivesTheSumAfterItAndOneProcess(int world, int batch) throws Exception {
        // a 1-byte cap: each of the 2 LoRA tensors is a bucket of its own, so one leaves while backward still
        // computes the other's gradient; the epoch's last step (10 examples) leaves some ranks without a micro-batch:
        // they send every bucket after their (absent) backward, zeros, and do not hang
        Outcome one = single(batch * world);
        List<Outcome> after = ranks(world, batch, 1, 0);
        long t0 = System.nanoTime();
        List<Outcome> during = ranks(world, batch, 1, 1);
        double seconds = (System.nanoTime() - t0) / 1e9;
        for (int r = 0; r < world; r++) {
            assertEquals(null, after.get(r).overlap(), "a 0 cap sums after backward");
            assertSameRun(after.get(r), during.get(r), 1e-6, "rank " + r + ": overlapped vs after backward");
            assertSameRun(one, during.get(r), 1e-5, "rank " + r + ": overlapped vs one process");
            ProcessGroup.OverlapStats st = during.get(r).overlap();
            assertEquals(2, st.buckets(), st.toString());
            assertEquals(0, st.lateGradients(), st.toString());
            // 9 steps; in each step with a micro-batch the first bucket is in flight during the rest of backward.
            // An epoch has 10 / batch micro-batches, 3 steps of `world`: the last step has 10 / batch - 2 world
            // (1 for 2 x 2, 2 for 4 x 1), so the ranks from there on have none in 3 of the 9 steps
            int withMicroBatch = r < 10 / batch - 2 * world ? 9 : 6;
            assertEquals(withMicroBatch, st.steps(), st.toString());
            assertEquals(withMicroBatch, st.launchedEarly(), st.toString());
            assertEquals(2 * withMicroBatch, st.launchedInBackward(), st.toString());
            assertEquals(2 * (9 - withMicroBatch), st.launchedAfterBackward(), st.toString());
        }
        assertTrue(seconds < 60, "no rank waited for the 60 s collective timeout: " + seconds + " s");
    }

    @Test void gradientAccumulationOnTwoRanksSumsOnlyAfterTheWindowsLastMicroBatch() throws Exception {
        // 2 ranks x batch 2 x accumulation 2: a step covers the 4 micro-batches of 2 that one process with
        // accumulation 4 takes (10 examples: the last step has 1 micro-batch, rank 1 none)
        Outcome one = single(2, 4);
        List<Outcome> during = ranks(2, 2, 2, 1);
        assertEquals(6, one.losses().length, "3 epochs of ceil(5 / 4) = 2 steps");
        for (int r = 0; r < 2; r++) {
            assertSameRun(one, during.get(r), 1e-5, "rank " + r);
            ProcessGroup.OverlapStats st = during.get(r).overlap();
            // armed once per step (before the rank's last micro-batch), so 2 buckets per step with a micro-batch
            int withMicroBatch = r == 0 ? 6 : 3;
            assertEquals(withMicroBatch, st.steps(), st.toString());
            assertEquals(2 * withMicroBatch, st.launchedInBackward(), st.toString());
            assertEquals(2 * (6 - withMicroBatch), st.launchedAfterBackward(), st.toString());
        }
    }

    @Test void aGradientAccumulatedAgainAfterItsBucketLeftIsSummedAgainAfterBackward() throws Exception {
        // two backward passes after arming (not what the loop does, but what a task calling backward twice
        // would): the second changes gradients whose buckets already left, so reduce discards those sums (on
        // every rank: the flag travels with the loss) and sums after backward; the result is still exact
        assumeTrue(ProcessGroup.available(), "the native shim was built without c10d/gloo (apt-get install libgloo-dev)");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<String>> fs = new ArrayList<>();
            for (int r = 0; r < 2; r++) {
                int rank = r;
                fs.add(pool.submit(() -> {
                    try (ProcessGroup g = ProcessGroup.join(new DistEnv("127.0.0.1", port, 2, rank, rank), ProcessGroup.Backend.GLOO,
                            Duration.ofSeconds(30)); org.lorascripts.tensor.Scope s = org.lorascripts.tensor.Scope.open()) {
                        org.lorascripts.tensor.Tensor a = org.lorascripts.tensor.Torch.of(new double[] {1, 2, 3}, 3).requiresGrad_(true).keep();
                        org.lorascripts.tensor.Tensor b = org.lorascripts.tensor.Torch.of(new double[] {-1, 0.5}, 2).requiresGrad_(true).keep();
                        List<org.lorascripts.tensor.Tensor> ps = List.of(a, b);
                        DataParallel dp = new DataParallel(g, 1);
                        dp.start(ps, 1, 0);
                        dp.beforeLastBackward();
                        // loss = (rank+1) * (sum(a^2) + sum(b)) twice: grads 2 * (rank+1) * (2a, 1)
                        for (int k = 0; k < 2; k++) a.mul(a).sum().add(b.sum()).mul(rank + 1).backward();
                        double loss = dp.reduce(ps, rank + 1.0);
                        return loss + " " + java.util.Arrays.toString(a.grad().toDoubleArray()) + " "
                                + java.util.Arrays.toString(b.grad().toDoubleArray()) + " " + dp.overlapStats().orElseThrow().lateGradients();
                    }
                }));
            }
            // summed over ranks 1 and 2: 2 * 3 * (2a, 1) = (12, 24, 36), (6, 6); 2 late gradients per rank
            for (Future<String> f : fs) assertEquals("3.0 [12.0, 24.0, 36.0] [6.0, 6.0] 2", f.get(60, TimeUnit.SECONDS));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test void withoutTheSumTheRanksWouldDrift() throws Exception {
        // the same two ranks with a GradientSync that shards but does not reduce: each rank steps on its own
        // half, so the runs must differ from one process (what the equality above rests on)
        Outcome one = single(4);
        LoopFixture f = fixture(dir.resolve("alone"), 2);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            GradientSync shardOnly = new GradientSync() {
                @Override public int rank() { return 0; }
                @Override public int worldSize() { return 2; }
                @Override public void start(List<org.lorascripts.tensor.Tensor> params, long seed, long step) {}
                @Override public double reduce(List<org.lorascripts.tensor.Tensor> params, double lossSum) { return lossSum; }
                @Override public boolean anyRank(boolean flag) { return flag; }
            };
            new TrainingLoop(f.config(), task, org.lorascripts.tensor.Device.CPU, f.options(new Resume.None())).withGradientSync(shardOnly).run();
            float[] w = task.weights();
            double d = 0;
            for (int i = 0; i < w.length; i++) d = Math.max(d, Math.abs(w[i] - one.weights()[i]));
            assertTrue(d > 1e-3, "half the data per step must give other weights: " + d);
        }
    }

    private static String list(Path d) {
        try (var s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList().toString();
        } catch (IOException e) {
            return d + ": " + e;
        }
    }
}
