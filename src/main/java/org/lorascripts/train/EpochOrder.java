package org.lorascripts.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntFunction;

/**
 * Which training examples each optimizer step uses. Epoch e is a permutation of the train indices
 * drawn from (seed, e) alone, not from libtorch's generator, so the order is the same whatever the
 * task does with torch randomness and a resumed run needs only the global step to find its place.
 * An epoch is cut into micro-batches of batch_size (the last one may be smaller, it is kept) and
 * those are grouped gradient_accumulation_steps at a time into optimizer steps (the last group may
 * be shorter), as {@link org.lorascripts.config.StepPlan} counts them. A task may choose the
 * micro-batches itself ({@link TrainingTask#epochBatches}); they are grouped into steps the same way.
 */
final class EpochOrder {
    private final int examples;
    private final int batchSize;
    private final int accumulation;
    private final long seed;
    private final int microBatchesPerEpoch;
    private final int stepsPerEpoch;
    private final IntFunction<List<int[]>> taskBatches;   // null = shuffle here
    private int cachedEpoch = -1;
    private int[] cached;
    private int cachedBatchesEpoch = -1;
    private List<int[]> cachedBatches;

    EpochOrder(int examples, int batchSize, int accumulation, long seed) {
        this(examples, batchSize, accumulation, seed, null);
    }

    /** @param taskBatches the task's micro-batches per epoch, or null for the loop's own shuffle */
    EpochOrder(int examples, int batchSize, int accumulation, long seed, IntFunction<List<int[]>> taskBatches) {
        if (examples < 1) throw new IllegalArgumentException("the training split is empty");
        if (batchSize < 1 || accumulation < 1) throw new IllegalArgumentException("batch size and accumulation must be >= 1");
        this.examples = examples;
        this.batchSize = batchSize;
        this.accumulation = accumulation;
        this.seed = seed;
        this.taskBatches = taskBatches;
        this.microBatchesPerEpoch = taskBatches == null ? Math.ceilDiv(examples, batchSize) : batchesOf(0).size();
        this.stepsPerEpoch = Math.ceilDiv(microBatchesPerEpoch, accumulation);
    }

    int stepsPerEpoch() { return stepsPerEpoch; }

    /** The epoch (0-based) that global optimizer step {@code step} (0-based) belongs to. */
    int epochOf(long step) { return (int) (step / stepsPerEpoch); }

    /** Position of the step within its epoch (0-based). */
    int stepInEpoch(long step) { return (int) (step % stepsPerEpoch); }

    /** The train indices of epoch {@code epoch} in the order they are visited. */
    int[] permutation(int epoch) {
        if (epoch != cachedEpoch) {
            int[] p = new int[examples];
            for (int i = 0; i < examples; i++) p[i] = i;
            SplittableRandom r = new SplittableRandom(mix(seed, epoch));
            for (int i = examples - 1; i > 0; i--) {  // Fisher-Yates
                int j = r.nextInt(i + 1);
                int t = p[i];
                p[i] = p[j];
                p[j] = t;
            }
            cached = p;
            cachedEpoch = epoch;
        }
        return cached;
    }

    /** The micro-batches (example indices) of global optimizer step {@code step}. */
    List<int[]> microBatches(long step) {
        int first = stepInEpoch(step) * accumulation;
        int last = Math.min(first + accumulation, microBatchesPerEpoch);
        if (taskBatches != null) return List.copyOf(batchesOf(epochOf(step)).subList(first, last));
        int[] perm = permutation(epochOf(step));
        List<int[]> r = new ArrayList<>(last - first);
        for (int m = first; m < last; m++) {
            r.add(Arrays.copyOfRange(perm, m * batchSize, Math.min((m + 1) * batchSize, examples)));
        }
        return r;
    }

    /** The task's batches of an epoch, checked: each train index once, the same count every epoch. */
    private List<int[]> batchesOf(int epoch) {
        if (epoch == cachedBatchesEpoch) return cachedBatches;
        List<int[]> batches = taskBatches.apply(epoch);
        boolean[] seen = new boolean[examples];
        int count = 0;
        for (int[] b : batches) {
            if (b.length == 0) throw new IllegalStateException("epoch " + epoch + ": the task returned an empty micro-batch");
            for (int i : b) {
                if (i < 0 || i >= examples || seen[i]) {
                    throw new IllegalStateException("epoch " + epoch + ": the task's micro-batches must hold each of the "
                            + examples + " train indices once; index " + i + " is " + (i < 0 || i >= examples ? "out of range" : "repeated"));
                }
                seen[i] = true;
                count++;
            }
        }
        if (count != examples) throw new IllegalStateException("epoch " + epoch + ": the task's micro-batches cover " + count + " of " + examples + " train indices");
        if (cachedBatches != null && batches.size() != cachedBatches.size()) {
            throw new IllegalStateException("the task's micro-batch count changed from " + cachedBatches.size() + " to " + batches.size()
                    + " in epoch " + epoch + "; it must be the same every epoch");
        }
        cachedBatches = List.copyOf(batches);
        cachedBatchesEpoch = epoch;
        return cachedBatches;
    }

    /**
     * A well-mixed generator seed per (seed, epoch). Not {@code seed + epoch}: SplittableRandom seeds
     * that differ by a multiple of its gamma give shifted copies of one stream.
     */
    static long mix(long seed, int epoch) {
        long h = seed * 0x9E3779B97F4A7C15L + epoch;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
