package org.lorascripts.models.sd.unet;

import java.util.List;
import org.lorascripts.nn.FusedOps;
import org.lorascripts.nn.LayerNorm;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.models.sd.blocks.Attention;
import org.lorascripts.models.sd.blocks.BlockCheckpoint;

/**
 * diffusers' {@code BasicTransformerBlock} as SD uses it (layer_norm, GEGLU feed-forward, no dropout):
 * self-attention, cross-attention over the text states, feed-forward; each pre-normed and residual.
 * Names: norm1, attn1, norm2, attn2, norm3, ff.net.0.proj (GEGLU), ff.net.2.
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/attention.py
 * (BasicTransformerBlock, FeedForward) and models/activations.py (GEGLU).
 */
final class BasicTransformerBlock {
    private final LayerNorm norm1, norm2, norm3;
    private final Attention attn1, attn2;
    private final Linear ffProj, ffOut;
    private final BlockCheckpoint checkpoint;

    BasicTransformerBlock(Weights w, long dim, int heads, long dimHead, long contextDim, boolean upcast) {
        norm1 = new LayerNorm(w.pp("norm1"), dim, 1e-5);
        attn1 = new Attention(w.pp("attn1"), dim, dim, heads, dimHead, false, upcast);
        norm2 = new LayerNorm(w.pp("norm2"), dim, 1e-5);
        attn2 = new Attention(w.pp("attn2"), dim, contextDim, heads, dimHead, false, upcast);
        norm3 = new LayerNorm(w.pp("norm3"), dim, 1e-5);
        long inner = dim * 4;
        Weights ff = w.pp("ff").pp("net");
        ffProj = new Linear(ff.pp(0).pp("proj"), dim, inner * 2, true);
        ffOut = new Linear(ff.pp(2), inner, dim, true);
        checkpoint = new BlockCheckpoint(w.loraHosts(), w.prefix());
    }

    /** x (B, N, C), context (B, M, D) → (B, N, C). */
    Tensor forward(Tensor x, Tensor context, boolean gradientCheckpointing) {
        return checkpoint.run(gradientCheckpointing, (in, recompute) -> body(in.get(0), in.get(1), recompute), x, context);
    }

    /** {@code gradientsOnly}: the checkpoint's recompute for backward; ff.net.2 then runs for its gradients alone. */
    private Tensor body(Tensor x, Tensor context, boolean gradientsOnly) {
        // each residual step in a scope of its own, so the branch's output and temporaries are freed after the
        // addition (autograd keeps what backward needs) instead of living to the end of the block
        // 1. self-attention
        Tensor h1 = Scope.scoped(() -> x.add(attn1.forward(norm1.forwardFused(x), null)));        // (B, N, C)
        // 2. cross-attention to the text encoder states
        Tensor h2 = Scope.scoped(() -> h1.add(attn2.forward(norm2.forwardFused(h1), context)));
        // 3. GEGLU feed-forward: proj → (value, gate) halves, value * gelu(gate), then net.2
        return Scope.scoped(() -> {
            Tensor vg = ffProj.forward(norm3.forwardFused(h2));                     // (B, N, 8C): value and gate halves
            Tensor act = FusedOps.geglu(vg);
            return h2.add(gradientsOnly ? ffOut.gradientPath(act) : ffOut.forward(act));
        });
    }
}
