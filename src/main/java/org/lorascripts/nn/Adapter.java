package org.lorascripts.nn;

import java.util.List;
import org.lorascripts.tensor.Tensor;

/** A trainable addition to a frozen module's output (a LoRA): output += apply(input). */
public interface Adapter {
    Tensor apply(Tensor input);

    /** The trainable tensors apply() uses (e.g. passed to gradient checkpointing so they get gradients). */
    default List<Tensor> parameters() { return List.of(); }
}
