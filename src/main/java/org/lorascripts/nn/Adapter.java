package org.lorascripts.nn;

import org.lorascripts.tensor.Tensor;

/** A trainable addition to a frozen module's output (a LoRA): output += apply(input). */
public interface Adapter {
    Tensor apply(Tensor input);
}
