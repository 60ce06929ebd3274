package org.lorascripts.train.optim;

import java.util.Objects;
import org.lorascripts.tensor.Tensor;

/**
 * A trainable tensor with the name its optimizer state is saved under (for example the kohya or
 * PEFT key of a LoRA weight), so a checkpoint's state finds its parameter by name, not position.
 */
public record NamedParam(String name, Tensor tensor) {
    public NamedParam {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(tensor, "tensor");
        if (name.isBlank()) throw new IllegalArgumentException("a parameter name must not be blank");
    }
}
