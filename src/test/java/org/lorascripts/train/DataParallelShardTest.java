package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.lorascripts.data.BucketBatchSampler;
import org.lorascripts.tensor.Tensor;

/**
 * How W ranks split an epoch: the global order of micro-batches is the one a single process uses (the loop's
 * shuffle, or the task's aspect-ratio buckets), a step takes gradient_accumulation_steps x W of them in that order,
 * and rank r takes positions r, r + W, ... of the step: disjoint shards whose union is the step.
 */
class DataParallelShardTest {
    static GradientSync rank(int r, int w) {
        return new GradientSync() {
            @Override public int rank() { return r; }
            @Override public int worldSize() { return w; }
            @Override public void start(List<Tensor> params, long seed, long step) {}
            @Override public double reduce(List<Tensor> params, double lossSum) { return lossSum; }
            @Override public boolean anyRank(boolean flag) { return flag; }
        };
    }

    /** Every micro-batch of epoch 0 and 1, step by step, as one process sees them. */
    static List<int[]> sequence(EpochOrder o) {
        List<int[]> all = new ArrayList<>();
        for (long s = 0; s < 2L * o.stepsPerEpoch(); s++) all.addAll(o.microBatches(s));
        return all;
    }

    @ParameterizedTest(name = "{0} examples, batch {1}, accumulation {2}, {3} ranks, buckets {4}")
    @CsvSource({"23, 2, 1, 2, false", "23, 2, 2, 3, false", "10, 1, 1, 4, false", "37, 3, 2, 2, true", "37, 2, 1, 4, true"})
    void ranksTakeDisjointShardsOfTheSingleProcessOrder(int examples, int batch, int accumulation, int world, boolean buckets) {
        // three aspect-ratio buckets of uneven sizes, batched per bucket as the SD task does
        int[] bucketOf = new int[examples];
        for (int i = 0; i < examples; i++) bucketOf[i] = i % 7 == 0 ? 2 : i % 3 == 0 ? 1 : 0;
        BucketBatchSampler sampler = new BucketBatchSampler(bucketOf, batch, 42);
        EpochOrder one = buckets ? new EpochOrder(examples, batch, accumulation, 42, sampler::batches)
                : new EpochOrder(examples, batch, accumulation, 42);
        EpochOrder global = buckets ? new EpochOrder(examples, batch, accumulation * world, 42, sampler::batches)
                : new EpochOrder(examples, batch, accumulation * world, 42);
        List<int[]> expected = sequence(one);
        List<int[]> got = new ArrayList<>();
        for (long s = 0; s < 2L * global.stepsPerEpoch(); s++) {
            List<int[]> step = global.microBatches(s);
            boolean[] seen = new boolean[examples];
            int n = 0;
            List<List<int[]>> shards = new ArrayList<>();
            for (int r = 0; r < world; r++) shards.add(rank(r, world).shard(step));
            for (int r = 0; r < world; r++) {
                for (int[] mb : shards.get(r)) for (int i : mb) {
                    assertEquals(false, seen[i], "step " + s + ": example " + i + " on two ranks");
                    seen[i] = true;
                    n++;
                }
                assertEquals((step.size() - r + world - 1) / world, shards.get(r).size(), "rank " + r + "'s share of step " + s);
            }
            int total = 0;
            for (int[] mb : step) total += mb.length;
            assertEquals(total, n, "the shards cover the step");
            // position k of the step belongs to rank k mod W
            for (int k = 0; k < step.size(); k++) assertArrayEquals(step.get(k), shards.get(k % world).get(k / world));
            got.addAll(step);
        }
        assertEquals(expected.size(), got.size());
        for (int i = 0; i < expected.size(); i++) assertArrayEquals(expected.get(i), got.get(i), "micro-batch " + i + " of the global order");
        assertEquals(Math.ceilDiv(Math.ceilDiv(buckets ? sampler.batches(0).size() : Math.ceilDiv(examples, batch), 1), accumulation * world),
                global.stepsPerEpoch());
    }
}
