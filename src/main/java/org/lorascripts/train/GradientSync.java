package org.lorascripts.train;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.tensor.Tensor;

/**
 * What the {@link TrainingLoop} asks of data-parallel training, at a few fixed points; {@link #NONE} (one
 * process) does nothing. With W ranks a global optimizer step covers gradient_accumulation_steps x W
 * micro-batches of the epoch's global order (the order one process would use); rank r takes the ones at
 * positions r, r + W, ... of the step ({@link #shard}). Every rank divides its losses by the weight of the
 * whole global step, so the sum of the ranks' gradients ({@link #reduce}) is the gradient of the global batch:
 * the mean over ranks of equal shards, and still exact when a last step leaves some ranks fewer micro-batches.
 * Only rank 0 writes checkpoints, logs, samples and the adapter.
 */
public interface GradientSync {
    GradientSync NONE = new GradientSync() {
        @Override public int rank() { return 0; }
        @Override public int worldSize() { return 1; }
        @Override public void start(List<Tensor> params, long seed, long step) {}
        @Override public double reduce(List<Tensor> params, double lossSum) { return lossSum; }
        @Override public boolean anyRank(boolean flag) { return flag; }
    };

    int rank();

    int worldSize();

    /**
     * Whether the step talks to a process group (a data-parallel job, a 1-rank one too): its collectives sit between
     * backward and the optimizer, so such a step is not captured as a CUDA graph.
     */
    default boolean exchanges() { return worldSize() > 1; }

    /** The rank on this host (which GPU it takes). */
    default int localRank() { return rank(); }

    /** Rank 0 writes the run's files and talks to the console and trackers. */
    default boolean isMain() { return rank() == 0; }

    /** This rank's micro-batches of a global step: positions rank, rank + W, ... of the step's list. */
    default <T> List<T> shard(List<T> stepMicroBatches) {
        if (worldSize() == 1) return stepMicroBatches;
        List<T> mine = new ArrayList<>();
        for (int i = rank(); i < stepMicroBatches.size(); i += worldSize()) mine.add(stepMicroBatches.get(i));
        return mine;
    }

    /**
     * Once the run's state is in place (fresh or resumed, before the first step): every rank takes rank 0's
     * trainable parameters, and each rank's random generators get a stream of their own.
     */
    void start(List<Tensor> params, long seed, long step);

    /**
     * Just before the backward of this rank's last micro-batch of the step: gradients that are final from then
     * on may be summed while backward still runs. Earlier micro-batches of the window only accumulate (as
     * under DDP's no_sync); a rank without micro-batches in the step never calls it.
     */
    default void beforeLastBackward() {}

    /**
     * After the accumulation window's backward, before unscaling and clipping: sums the parameters'
     * gradients and {@code lossSum} over the ranks (or waits for the sums started during backward); returns
     * the summed loss.
     */
    double reduce(List<Tensor> params, double lossSum);

    /** Whether {@code flag} is set on any rank (a Ctrl-C seen by one rank stops all at the same step). */
    boolean anyRank(boolean flag);
}
