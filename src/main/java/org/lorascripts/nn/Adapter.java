package org.lorascripts.nn;

import java.util.List;
import org.lorascripts.tensor.Tensor;

/** A trainable addition to a frozen module's output (a LoRA): output += apply(input). */
public interface Adapter {
    Tensor apply(Tensor input);

    /**
     * The trainable tensors {@link #apply} reads, e.g. for gradient checkpointing, where a segment's
     * parameters must be named so that their gradients flow through the recompute.
     */
    default List<Tensor> parameters() { return List.of(); }
}
