package org.lorascripts.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * Batches that never mix buckets, as kohya's {@code BaseDataset.make_buckets}/{@code shuffle_buckets}
 * build them: each bucket's examples are shuffled and cut into batches of {@code batchSize} (the
 * last one of a bucket may be smaller), then the list of all batches is shuffled. Every example
 * appears exactly once per epoch (or its repeats' number of times). The order is a function of (seed, epoch) only, so a resumed run
 * replays the same epoch (kohya seeds {@code random} with seed + epoch for the same reason).
 */
public final class BucketBatchSampler {
    private final int[][] members;   // bucket -> example indices, ascending
    private final int batchSize;
    private final long seed;

    /** {@code bucketOfExample[i]} is any id of example i's bucket (equal ids = same bucket). */
    public BucketBatchSampler(int[] bucketOfExample, int batchSize, long seed) {
        this(bucketOfExample, null, batchSize, seed);
    }

    /**
     * The same where example i appears {@code repeats[i]} times per epoch (kohya's num_repeats: each
     * repeat is one more entry in its bucket, shuffled with the rest); null = once each.
     */
    public BucketBatchSampler(int[] bucketOfExample, int[] repeats, int batchSize, long seed) {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        if (repeats != null && repeats.length != bucketOfExample.length) {
            throw new IllegalArgumentException(repeats.length + " repeats for " + bucketOfExample.length + " examples");
        }
        TreeMap<Integer, List<Integer>> byBucket = new TreeMap<>();
        for (int i = 0; i < bucketOfExample.length; i++) {
            int n = repeats == null ? 1 : repeats[i];
            for (int r = 0; r < n; r++) byBucket.computeIfAbsent(bucketOfExample[i], k -> new ArrayList<>()).add(i);
        }
        this.members = byBucket.values().stream()
                .map(l -> l.stream().mapToInt(Integer::intValue).toArray())
                .toArray(int[][]::new);
        this.batchSize = batchSize;
        this.seed = seed;
    }

    /** Batches per epoch: the sum over buckets of ceil(size / batchSize). */
    public int batchesPerEpoch() {
        int n = 0;
        for (int[] m : members) n += (m.length + batchSize - 1) / batchSize;
        return n;
    }

    /** This epoch's batches, in training order; each holds indices of one bucket. */
    public List<int[]> batches(int epoch) {
        List<int[]> batches = new ArrayList<>(batchesPerEpoch());
        for (int b = 0; b < members.length; b++) {
            int[] shuffled = members[b].clone();
            // Per-bucket stream (index = bucket number) so bucket contents do not depend on each other.
            ExampleRandom.of(seed, epoch, b, ExampleRandom.Purpose.BATCH_ORDER).shuffle(shuffled);
            for (int start = 0; start < shuffled.length; start += batchSize) {
                batches.add(Arrays.copyOfRange(shuffled, start, Math.min(shuffled.length, start + batchSize)));
            }
        }
        ExampleRandom.of(seed, epoch, -1, ExampleRandom.Purpose.BATCH_ORDER).shuffle(batches);
        return batches;
    }
}
