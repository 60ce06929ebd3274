package org.lorascripts.nn;

import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * A frozen linear layer whose weight is kept only as 4-bit NF4 with double quantisation
 * ({@link Nf4}, bitsandbytes' {@code Linear4bit(quant_type="nf4", compress_statistics=True)}), as
 * QLoRA trains: the weight is quantised once when loaded (the dense copy is freed at once) and each
 * forward dequantises it to the compute dtype, multiplies and drops it. The frozen weight gets no
 * gradient; backward needs only the input's, {@code grad · W}: by default the product is an operation
 * of its own ({@link FrozenProduct}) whose backward dequantises W again and multiplies, saving neither
 * the dense weight nor the input (the down projection's input is the MLP's widest activation), and
 * running no GEMM but that one. Inside a segment that is itself checkpointed (gradient checkpointing of
 * the decoder layer, {@link #setInsideCheckpoint}) autograd may keep the dense weight: it lives only while
 * that layer's backward runs, and W is not dequantised a third time. The bias (if any) stays in the compute
 * dtype. A LoRA plugs in as on {@link Linear}; {@link #weight()} is a dequantised copy (for DoRA's norms),
 * and merging into it is refused.
 */
public final class Linear4bit implements LinearLayer {
    private final Nf4.Quantized state;
    private final Tensor bias;
    private final DType dtype;
    private Adapter adapter;
    private boolean insideCheckpoint;

    public Linear4bit(Weights w, long in, long out, boolean bias) {
        try (Scope s = Scope.open()) {   // the dense weight and the quantiser's temporaries are freed here
            Nf4.Quantized q = Nf4.quantize(w.take("weight", out, in));
            for (Tensor t : q.tensors()) w.own(t.keep());
            this.state = q;
        }
        this.bias = bias ? w.get("bias", out) : null;
        this.dtype = w.dtype();
        w.registerLoraHost(this);
    }

    @Override public Tensor forward(Tensor x) {
        Tensor y = frozen(x);
        return adapter == null ? y : adapter.addTo(y, x, this);
    }

    @Override public Tensor gradientPath(Tensor x) {
        if (adapter != null && adapter.readsHostOutput()) return forward(x);
        Tensor y = FrozenProduct.linearGradientOnly(x, state.shape()[0], () -> Nf4.dequantize(state, dtype), dtype);
        return adapter == null ? y : adapter.addTo(y, x, this);
    }

    /** x W^T + b with W dequantised for this product only. */
    private Tensor frozen(Tensor x) {
        if (insideCheckpoint) return product(x);
        return FrozenProduct.linear(x, () -> Nf4.dequantize(state, dtype), bias, dtype);
    }

    private Tensor product(Tensor x) {
        return Scope.scoped(() -> Functional.linear(x, Nf4.dequantize(state, dtype), bias));
    }

    /**
     * Whether this layer runs inside a checkpointed segment (the decoder layer's gradient
     * checkpointing): the dense weight may then stay saved for backward, since the segment's own
     * backward frees it, and the per-product checkpoint is skipped.
     */
    public void setInsideCheckpoint(boolean on) { insideCheckpoint = on; }

    /** The 4-bit state (owned by the model's weights). */
    public Nf4.Quantized state() { return state; }

    /** The compute dtype the weight is dequantised to. */
    public DType dtype() { return dtype; }

    @Override public long[] weightShape() { return state.shape(); }

    /** A dequantised copy in the compute dtype (new tensor, in the current scope). */
    @Override public Tensor weight() { return Nf4.dequantize(state, dtype); }

    @Override public Tensor bias() { return bias; }

    @Override public boolean quantized() { return true; }

    @Override public void attach(Adapter a) { adapter = a; }

    @Override public Adapter adapter() { return adapter; }
}
