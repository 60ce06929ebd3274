package org.lorascripts.nn;

import java.util.List;
import org.lorascripts.tensor.Tensor;

/** A trainable addition to a frozen module's output (a LoRA): output += apply(input). */
public interface Adapter {
    Tensor apply(Tensor input);

    /**
     * The host's output with this adapter, given the frozen output {@code hostOutput} (bias included)
     * for {@code input}. A plain LoRA adds {@link #apply}; a variant that rescales the host's weight
     * (DoRA) reads the host's weight and output here.
     */
    default Tensor addTo(Tensor hostOutput, Tensor input, LoraHost host) { return hostOutput.add(apply(input)); }

    /**
     * Whether {@link #addTo} reads the host's output value (DoRA rescales it), not only adds to it. A host whose
     * adapter does not may leave its frozen product uncomputed where only gradients flow ({@link LinearLayer#gradientPath}).
     */
    default boolean readsHostOutput() { return false; }

    /**
     * The trainable tensors {@link #apply} reads, e.g. for gradient checkpointing, where a segment's
     * parameters must be named so that their gradients flow through the recompute.
     */
    default List<Tensor> parameters() { return List.of(); }
}
