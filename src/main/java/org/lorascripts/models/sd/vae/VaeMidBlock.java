package org.lorascripts.models.sd.vae;

import org.lorascripts.nn.GroupNorm;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.models.sd.blocks.Attention;
import org.lorascripts.models.sd.blocks.ResnetBlock2D;

/**
 * diffusers' {@code UNetMidBlock2D} as the VAE uses it: resnets.0, attentions.0, resnets.1, without a
 * time embedding. The attention is single-head self-attention over the H*W positions with a group
 * norm in front and a residual (diffusers' Attention with group_norm, residual_connection=True,
 * heads = C / attention_head_dim = 1). LDM checkpoints store its q/k/v/proj_out as 1x1 convolutions;
 * the checkpoint loader squeezes them to the (C, C) matrices used here.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/unets/unet_2d_blocks.py
 * (UNetMidBlock2D) and models/attention_processor.py (AttnProcessor2_0).
 */
final class VaeMidBlock {
    private final ResnetBlock2D resnet0, resnet1;
    private final GroupNorm attnNorm;
    private final Attention attention;

    VaeMidBlock(Weights w, long channels, int groups) {
        resnet0 = new ResnetBlock2D(w.pp("resnets").pp(0), channels, channels, 0, groups, 1e-6);
        Weights a = w.pp("attentions").pp(0);
        attnNorm = new GroupNorm(a.pp("group_norm"), groups, channels, 1e-6);
        attention = new Attention(a, channels, channels, 1, channels, true, false);
        resnet1 = new ResnetBlock2D(w.pp("resnets").pp(1), channels, channels, 0, groups, 1e-6);
    }

    /** (B, C, H, W) → (B, C, H, W). */
    Tensor forward(Tensor x) {
        Tensor h = resnet0.forward(x, null);
        // attention: norm, to a (B, HW, C) sequence, attend, back to an image, add the input
        long b = h.size(0), c = h.size(1), hgt = h.size(2), wid = h.size(3);
        Tensor seq = attnNorm.forward(h).view(b, c, hgt * wid).transpose(1, 2);      // (B, HW, C)
        Tensor att = attention.forward(seq, null);                                     // (B, HW, C)
        h = att.transpose(1, 2).reshape(b, c, hgt, wid).add(h);
        return resnet1.forward(h, null);
    }
}
