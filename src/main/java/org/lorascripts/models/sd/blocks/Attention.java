package org.lorascripts.models.sd.blocks;

import org.lorascripts.nn.Linear;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;

/**
 * diffusers' {@code Attention} as SD uses it (AttnProcessor2_0): to_q / to_k / to_v, scaled
 * dot-product attention over {@code heads} heads of {@code dimHead}, then to_out.0 (to_out.1 is a
 * dropout, p = 0). Self-attention when the context is null. The UNet's projections have no bias
 * (attention_bias = False); the VAE's have one. With upcast, half-precision q and k go to fp32 for
 * the scores (SD 2.1's upcast_attention).
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/attention_processor.py
 */
public final class Attention {
    private final Linear toQ, toK, toV, toOut;
    private final int heads;
    private final boolean upcast;

    public Attention(Weights w, long queryDim, long contextDim, int heads, long dimHead, boolean qkvBias, boolean upcast) {
        long inner = heads * dimHead;
        this.toQ = new Linear(w.pp("to_q"), queryDim, inner, qkvBias);
        this.toK = new Linear(w.pp("to_k"), contextDim, inner, qkvBias);
        this.toV = new Linear(w.pp("to_v"), contextDim, inner, qkvBias);
        this.toOut = new Linear(w.pp("to_out").pp(0), inner, queryDim, true);
        this.heads = heads;
        this.upcast = upcast;
    }

    /** x (B, N, C), context (B, M, D) or null → (B, N, C). */
    public Tensor forward(Tensor x, Tensor context) {
        Tensor ctx = context == null ? x : context;
        long b = x.size(0), n = x.size(1), m = ctx.size(1);
        // 1. project and split heads: (B, N, H*d) → (B, H, N, d)
        Tensor q = splitHeads(toQ.forward(x), b, n);
        Tensor k = splitHeads(toK.forward(ctx), b, m);
        Tensor v = splitHeads(toV.forward(ctx), b, m);
        // 2. softmax(q k^T / sqrt(d)) v, in fp32 when upcasting half precision
        DType dt = q.dtype();
        boolean up = upcast && (dt == DType.F16 || dt == DType.BF16);
        Tensor o = up
                ? Functional.scaledDotProductAttention(q.to(DType.F32), k.to(DType.F32), v.to(DType.F32), null, 0, false, 0).to(dt)
                : Functional.scaledDotProductAttention(q, k, v, null, 0, false, 0);   // (B, H, N, d)
        // 3. merge heads and project out
        Tensor merged = o.transpose(1, 2).reshape(b, n, -1);                             // (B, N, H*d)
        return toOut.forward(merged);
    }

    private Tensor splitHeads(Tensor t, long b, long len) {
        return t.view(b, len, heads, -1).transpose(1, 2);
    }
}
