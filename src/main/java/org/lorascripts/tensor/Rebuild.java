package org.lorascripts.tensor;

import java.util.List;
import java.util.function.Function;

/**
 * A recipe that makes a tensor's value again, bit for bit, from {@code sources}: tensors an operation's backward keeps
 * anyway. An operation that would save the tensor for its backward (a LoRA's down projection saving a norm's output)
 * may save the sources instead and call {@link #make} in backward, so the tensor itself is freed once its forward
 * readers are done. For RMSNorm the sources are the norm's input and per-row statistics, which the norm saves for its
 * own backward: one activation of the hidden size per norm less to keep.
 *
 * @param sources tensors without autograd history, each saved by the tensor's own producer
 * @param make    the value from tensors like {@code sources} (as saved, in order), computed without autograd history
 */
public record Rebuild(List<Tensor> sources, Function<List<Tensor>, Tensor> make) {
    public Rebuild {
        sources = List.copyOf(sources);
    }

    /** Whether every source is still open (a recipe whose sources a closed scope freed cannot serve). */
    public boolean usable() { return sources.stream().noneMatch(Tensor::isClosed); }
}
