package org.lorascripts.nn;

import org.lorascripts.tensor.Tensor;

/** A linear layer that can carry an adapter: its weight in the compute dtype ({@link Linear}) or as 4-bit NF4 ({@link Linear4bit}). */
public sealed interface LinearLayer extends LoraHost permits Linear, Linear4bit {
    /** y = x W^T + b, plus the adapter's part. */
    Tensor forward(Tensor x);

    /**
     * This layer's output for the gradients alone: where nothing reads the output's value, only its gradient flows
     * back (the last product of a checkpointed segment run again for backward, {@link
     * org.lorascripts.tensor.Checkpoint.RecomputeAware}, whose output the outer graph already has). The gradients sent to
     * {@code x} and to the adapter are those of {@link #forward}; the value is not (the frozen product is left
     * uncomputed, its place a broadcast zero). A layer whose adapter reads the frozen output (DoRA) computes it.
     */
    Tensor gradientPath(Tensor x);

    @Override default Kind kind() { return Kind.LINEAR; }

    /** Loads {@code weight} (out, in) and an optional {@code bias}: 4-bit when {@link Weights#loadIn4bit()}, else plain. */
    static LinearLayer load(Weights w, long in, long out, boolean bias) {
        return w.loadIn4bit() ? new Linear4bit(w, in, out, bias) : new Linear(w, in, out, bias);
    }
}
