package org.lorascripts.nn;

import java.util.Objects;
import org.lorascripts.tensor.Tensor;

/**
 * A trainable tensor with the name its optimizer state is saved under (for example the kohya or
 * PEFT key of a LoRA weight), so a checkpoint's state finds its parameter by name, not position.
 * {@code lrScale} multiplies the scheduled learning rate for this parameter: kohya's separate
 * unet_lr / text_encoder_lr are scales of the one schedule (every schedule is proportional to its
 * peak rate).
 */
public record NamedParam(String name, Tensor tensor, double lrScale) {
    public NamedParam {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(tensor, "tensor");
        if (name.isBlank()) throw new IllegalArgumentException("a parameter name must not be blank");
        if (!(lrScale >= 0) || Double.isInfinite(lrScale)) throw new IllegalArgumentException("lrScale of '" + name + "' must be finite and >= 0, got " + lrScale);
    }

    public NamedParam(String name, Tensor tensor) { this(name, tensor, 1.0); }
}
