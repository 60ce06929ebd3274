package org.lorascripts.models.sd.blocks;

import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;

/**
 * diffusers' {@code Downsample2D} with a conv: stride 2, 3x3. The UNet pads 1 on every side; the VAE
 * encoder (padding 0) pads only right and bottom by 1, as LDM does.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/downsampling.py
 */
public final class Downsample2D {
    private final Conv2d conv;
    private final int padding;

    public Downsample2D(Weights w, long channels, int padding) {
        this.padding = padding;
        this.conv = new Conv2d(w.pp("conv"), channels, channels, 3, 2, padding, true);
    }

    /** (B, C, H, W) → (B, C, ceil(H/2), ceil(W/2)). */
    public Tensor forward(Tensor x) {
        if (padding == 0) x = Functional.pad(x, new long[] {0, 1, 0, 1}, 0);
        return conv.forward(x);
    }
}
