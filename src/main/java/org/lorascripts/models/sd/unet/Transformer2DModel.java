package org.lorascripts.models.sd.unet;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.models.sd.blocks.BlockCheckpoint;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.GroupNorm;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * diffusers' {@code Transformer2DModel} over continuous inputs: group norm (eps 1e-6), proj_in,
 * transformer blocks over the H*W positions, proj_out, plus the input. proj_in / proj_out are 1x1
 * convolutions in SD 1.x and linear layers in SD 2.x (use_linear_projection); both compute the
 * same function of the same weights (a (C, C, 1, 1) conv weight is a (C, C) matrix).
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/transformers/transformer_2d.py
 */
final class Transformer2DModel {
    private final GroupNorm norm;
    private final Conv2d projInConv, projOutConv;
    private final Linear projInLinear, projOutLinear;
    private final List<BasicTransformerBlock> blocks = new ArrayList<>();
    private final long channels;
    private final BlockCheckpoint checkpoint;

    Transformer2DModel(Weights w, long channels, int heads, int layers, long contextDim, boolean linearProjection, int groups, boolean upcast) {
        this.channels = channels;
        long dimHead = channels / heads;
        norm = new GroupNorm(w.pp("norm"), groups, channels, 1e-6);
        if (linearProjection) {
            projInLinear = new Linear(w.pp("proj_in"), channels, channels, true);
            projInConv = null;
        } else {
            projInConv = new Conv2d(w.pp("proj_in"), channels, channels, 1, 1, 0, true);
            projInLinear = null;
        }
        for (int i = 0; i < layers; i++) {
            blocks.add(new BasicTransformerBlock(w.pp("transformer_blocks").pp(i), channels, heads, dimHead, contextDim, upcast));
        }
        if (linearProjection) {
            projOutLinear = new Linear(w.pp("proj_out"), channels, channels, true);
            projOutConv = null;
        } else {
            projOutConv = new Conv2d(w.pp("proj_out"), channels, channels, 1, 1, 0, true);
            projOutLinear = null;
        }
        checkpoint = new BlockCheckpoint(w.loraHosts(), w.prefix());   // after the modules: it collects their LoRA hosts
    }

    /**
     * x (B, C, H, W), context (B, M, D) → (B, C, H, W). Runs in a scope of its own: the layout copies and norm
     * temporaries die with it (see Scope.scoped). With gradient checkpointing, a model of one transformer block
     * (SD 1.x/2.x) is recomputed whole in backward, norm and projections included, so only its input is kept
     * (diffusers checkpoints the block alone, keeping the norm's input and output and proj_out's input as well);
     * with several blocks (SDXL) each block is checkpointed, so a recomputation holds one block's activations.
     */
    Tensor forward(Tensor x, Tensor context, boolean gradientCheckpointing) {
        if (gradientCheckpointing && blocks.size() == 1) {
            return checkpoint.run(true, (in, recompute) -> forwardInScope(in.get(0), in.get(1), false, recompute), x, context);
        }
        return Scope.scoped(() -> forwardInScope(x, context, gradientCheckpointing, false));
    }

    /** {@code gradientsOnly}: the checkpoint's recompute for backward; proj_out then runs for its gradients alone. */
    private Tensor forwardInScope(Tensor x, Tensor context, boolean gradientCheckpointing, boolean gradientsOnly) {
        long b = x.size(0), hgt = x.size(2), wid = x.size(3);
        // 1. norm and project in, to a sequence of positions
        Tensor h = norm.forwardFused(x);                                    // fused; autocast dtype for the projection
        h = projInConv != null
                ? toSequence(projInConv.forward(h), b, hgt, wid)                 // (B, HW, C)
                : projInLinear.forward(toSequence(h, b, hgt, wid));
        // 2. transformer blocks
        for (BasicTransformerBlock blk : blocks) h = blk.forward(h, context, gradientCheckpointing);
        // 3. project out, back to an image, and add the input
        if (projOutConv != null) {
            Tensor img = toImage(h, b, hgt, wid);
            h = gradientsOnly ? projOutConv.gradientPath(img) : projOutConv.forward(img);             // (B, C, H, W)
        } else {
            h = toImage(gradientsOnly ? projOutLinear.gradientPath(h) : projOutLinear.forward(h), b, hgt, wid);
        }
        return h.add(x);
    }

    // contiguous: reshape alone would give a transposed view of an NCHW tensor, which the fused layer norm does not
    // take, and the plain one under autocast copies in float32 (saving two float32 copies per norm for backward)
    private Tensor toSequence(Tensor t, long b, long h, long w) {
        return t.permute(0, 2, 3, 1).reshape(b, h * w, channels).contiguous();
    }

    private Tensor toImage(Tensor t, long b, long h, long w) {
        return t.reshape(b, h, w, channels).permute(0, 3, 1, 2).contiguous();
    }
}
