package org.lorascripts.models.sd.unet;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.models.sd.blocks.Downsample2D;
import org.lorascripts.models.sd.blocks.ResnetBlock2D;

/**
 * diffusers' {@code CrossAttnDownBlock2D} (with attentions) and {@code DownBlock2D} (without):
 * {@code layers} resnet (+ transformer) pairs, then a stride-2 downsampler except in the last block.
 * Every intermediate output is kept for the up path's skip connections.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/unets/unet_2d_blocks.py
 */
final class UNetDownBlock {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Transformer2DModel> attentions = new ArrayList<>();
    private final Downsample2D downsampler;

    UNetDownBlock(Weights w, UNetConfig c, int index, long in, long out, boolean crossAttention, boolean addDownsample) {
        long temb = c.timeEmbedDim();
        for (int i = 0; i < c.layersPerBlock(); i++) {
            resnets.add(new ResnetBlock2D(w.pp("resnets").pp(i), i == 0 ? in : out, out, temb, c.normNumGroups(), c.normEps()));
            if (crossAttention) {
                attentions.add(new Transformer2DModel(w.pp("attentions").pp(i), out, c.attentionHeadDim().get(index),
                        c.transformerDepth(index), c.crossAttentionDim(), c.useLinearProjection(), c.normNumGroups(), c.upcastAttention()));
            }
        }
        downsampler = addDownsample ? new Downsample2D(w.pp("downsamplers").pp(0), out, 1) : null;
    }

    /** x (B, Cin, H, W) → (B, Cout, H', W'); appends each output (B, Cout, ., .) to {@code skips}. */
    Tensor forward(Tensor x, Tensor temb, Tensor context, List<Tensor> skips, boolean ckpt) {
        Tensor h = x;
        for (int i = 0; i < resnets.size(); i++) {
            h = resnets.get(i).forward(h, temb, ckpt);
            if (!attentions.isEmpty()) h = attentions.get(i).forward(h, context, ckpt);
            skips.add(h);
        }
        if (downsampler != null) {
            h = downsampler.forward(h);                                   // (B, Cout, ceil(H/2), ceil(W/2))
            skips.add(h);
        }
        return h;
    }
}
