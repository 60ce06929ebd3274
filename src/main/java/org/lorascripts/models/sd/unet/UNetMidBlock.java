package org.lorascripts.models.sd.unet;

import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.models.sd.blocks.ResnetBlock2D;

/**
 * diffusers' {@code UNetMidBlock2DCrossAttn} with one layer: resnets.0, attentions.0, resnets.1; the
 * transformer has the last level's depth (SDXL: 10 blocks).
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/unets/unet_2d_blocks.py
 */
final class UNetMidBlock {
    private final ResnetBlock2D resnet0, resnet1;
    private final Transformer2DModel attention;

    UNetMidBlock(Weights w, UNetConfig c) {
        int last = c.blockOutChannels().size() - 1;
        long ch = c.blockOutChannels().get(last);
        resnet0 = new ResnetBlock2D(w.pp("resnets").pp(0), ch, ch, c.timeEmbedDim(), c.normNumGroups(), c.normEps());
        attention = new Transformer2DModel(w.pp("attentions").pp(0), ch, c.attentionHeadDim().get(last), c.midTransformerDepth(),
                c.crossAttentionDim(), c.useLinearProjection(), c.normNumGroups(), c.upcastAttention());
        resnet1 = new ResnetBlock2D(w.pp("resnets").pp(1), ch, ch, c.timeEmbedDim(), c.normNumGroups(), c.normEps());
    }

    /** (B, C, h, w) → (B, C, h, w). */
    Tensor forward(Tensor x, Tensor temb, Tensor context, boolean ckpt) {
        // intermediates closed once consumed (autograd keeps what it saved)
        Tensor h = resnet0.forward(x, temb, ckpt);
        Tensor a = attention.forward(h, context, ckpt);
        h.close();
        Tensor out = resnet1.forward(a, temb, ckpt);
        a.close();
        return out;
    }
}
