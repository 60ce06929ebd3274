package org.lorascripts.models.sd.blocks;

import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;

/**
 * diffusers' {@code Upsample2D} with a conv: nearest 2x (or to an explicit size, for latents whose
 * sides are not divisible by the UNet's total downscale), then a 3x3 conv.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/upsampling.py
 */
public final class Upsample2D {
    private final Conv2d conv;

    public Upsample2D(Weights w, long channels) {
        this.conv = new Conv2d(w.pp("conv"), channels, channels, 3, 1, 1, true);
    }

    /** (B, C, H, W) → (B, C, 2H, 2W), or (B, C, size[0], size[1]) when size is not null. */
    public Tensor forward(Tensor x, long[] size) {
        Tensor up = size == null
                ? Functional.interpolate(x, 2.0, 2.0, Functional.Interpolation.NEAREST)
                : Functional.interpolate(x, size[0], size[1], Functional.Interpolation.NEAREST, false, false);
        return conv.forward(up);
    }
}
