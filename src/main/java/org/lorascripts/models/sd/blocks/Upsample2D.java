package org.lorascripts.models.sd.blocks;

import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
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
        return Scope.scoped(() -> {
            Tensor up;
            // in x's dtype: autocast runs upsampling in float32 and the conv casts it back, which for nearest (a copy
            // of values) changes nothing but keeps a float32 copy and a cast alive; the conv saves up itself
            try (Autocast off = Autocast.suspend(x.device().type())) {
                up = size == null
                        ? Functional.interpolate(x, 2.0, 2.0, Functional.Interpolation.NEAREST)
                        : Functional.interpolate(x, size[0], size[1], Functional.Interpolation.NEAREST, false, false);
            }
            return conv.forward(up);
        });
    }
}
