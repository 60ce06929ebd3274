package org.lorascripts.models.sd.unet;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.blocks.ResnetBlock2D;
import org.lorascripts.models.sd.blocks.Upsample2D;

/**
 * diffusers' {@code CrossAttnUpBlock2D} / {@code UpBlock2D}: {@code layers + 1} resnets, each fed the
 * previous output concatenated with the matching skip from the down path (taken last-first), each
 * followed by a transformer in cross-attention blocks; then a 2x upsampler except in the last block.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/unets/unet_2d_blocks.py
 */
final class UNetUpBlock {
    private final List<ResnetBlock2D> resnets = new ArrayList<>();
    private final List<Transformer2DModel> attentions = new ArrayList<>();
    private final Upsample2D upsampler;

    /**
     * @param in   channels of the down block at this resolution (the last skip's channels)
     * @param prev channels coming from the previous up block (or the mid block)
     * @param heads the head count (diffusers' reversed attention_head_dim entry)
     * @param depth transformer blocks per attention (diffusers' reversed transformer_layers_per_block entry)
     */
    UNetUpBlock(Weights w, UNetConfig c, long in, long prev, long out, int heads, int depth, boolean crossAttention, boolean addUpsample) {
        int layers = c.layersPerBlock() + 1;
        for (int i = 0; i < layers; i++) {
            long skip = i == layers - 1 ? in : out;
            long resIn = i == 0 ? prev : out;
            resnets.add(new ResnetBlock2D(w.pp("resnets").pp(i), resIn + skip, out, c.timeEmbedDim(), c.normNumGroups(), c.normEps()));
            if (crossAttention) {
                attentions.add(new Transformer2DModel(w.pp("attentions").pp(i), out, heads, depth,
                        c.crossAttentionDim(), c.useLinearProjection(), c.normNumGroups(), c.upcastAttention()));
            }
        }
        upsampler = addUpsample ? new Upsample2D(w.pp("upsamplers").pp(0), out) : null;
    }

    int layers() { return resnets.size(); }

    /** x (B, Cprev, h, w); consumes layers() skips from the end of {@code skips}; upsamples to {@code upsampleSize} if given. */
    Tensor forward(Tensor x, List<Tensor> skips, Tensor temb, Tensor context, long[] upsampleSize, boolean ckpt) {
        // Each intermediate and each skip is closed once consumed (autograd keeps what it saved), as eager
        // PyTorch frees them: held to the end of the step, the ones only the concatenation read (it saves
        // nothing) would stay live through backward.
        Tensor h = x;
        for (int i = 0; i < resnets.size(); i++) {
            Tensor skip = skips.removeLast();
            Tensor cat = Torch.cat(List.of(h, skip), 1);              // (B, C + Cskip, h, w)
            if (h != x) h.close();
            skip.close();
            h = resnets.get(i).forward(cat, temb, ckpt);
            cat.close();
            if (!attentions.isEmpty()) {
                Tensor a = attentions.get(i).forward(h, context, ckpt);
                h.close();
                h = a;
            }
        }
        if (upsampler == null) return h;
        Tensor up = upsampler.forward(h, upsampleSize);
        if (h != x) h.close();
        return up;
    }
}
