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

    private record Outcome(double[] losses, float[] weights, TrainingResult result) {}

    private Outcome single(int batch) throws Exception {
        LoopFixture f = fixture(dir.resolve("single-b" + batch), batch);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            TrainingResult r = f.run(task);
            return new Outcome(f.losses(), task.weights(), r);
        }
    }

    private static LoopFixture fixture(Path out, int batch) {
        return new LoopFixture(out).set("batch_size", batch).set("epochs", 3).set("max_grad_norm", 0.5);
    }

    private List<Outcome> ranks(int world, int batch) throws Exception {
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
                    LoopFixture f = fixture(dir.resolve("w" + world + "-rank" + rank), batch);
                    try (ProcessGroup g = ProcessGroup.join(new DistEnv("127.0.0.1", p, world, rank, rank), ProcessGroup.Backend.GLOO,
                            Duration.ofSeconds(60))) {
                        TrainingResult res = new TrainingLoop(f.config(), tasks.get(rank), org.lorascripts.tensor.Device.CPU,
                                f.options(new Resume.None())).withGradientSync(new DataParallel(g)).run();
                        return new Outcome(f.losses(), tasks.get(rank).weights(), res);
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
        Path rank0 = dir.resolve("w" + world + "-rank0"), rank1 = dir.resolve("w" + world + "-rank1");
        assertTrue(list(rank0).contains(".safetensors"), list(rank0));
        assertTrue(Files.isDirectory(rank0.resolve("checkpoints")) && Files.isDirectory(rank0.resolve("logs")), list(rank0));
        // (the loop's writability check leaves an empty checkpoints folder behind on every rank)
        assertFalse(Files.exists(rank1.resolve("logs")) || list(rank1).contains(".safetensors"), list(rank1));
        assertEquals("[]", Files.isDirectory(rank1.resolve("checkpoints")) ? list(rank1.resolve("checkpoints")) : "[]");
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
