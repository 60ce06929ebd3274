package org.lorascripts.nn;

import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * y = x W^T + b with a frozen W (out, in), plus an optional adapter. With {@link Weights#fp8Base()} the weight is stored
 * as fp8 ({@link Fp8Weight}) and made dense for each product
 * ({@link FrozenProduct}); {@link #weight()} is then a dense copy and merging into it is refused.
 */
public final class Linear implements LinearLayer {
    private final Tensor weight;   // null when stored as fp8
    private final Fp8Weight fp8;
    private final Tensor bias;
    private Adapter adapter;

    public Linear(Weights w, long in, long out, boolean bias) {
        this.fp8 = w.fp8Base() ? Fp8Weight.load(w, out, in) : null;
        this.weight = fp8 == null ? w.get("weight", out, in) : null;
        this.bias = bias ? w.get("bias", out) : null;
        w.registerLoraHost(this);
    }

    /** A linear over given tensors (e.g. a tied output projection); not registered for LoRA. */
    public Linear(Tensor weight, Tensor bias) {
        this.weight = weight;
        this.fp8 = null;
        this.bias = bias;
    }

    @Override public Tensor forward(Tensor x) {
        if (adapter == null) return frozen(x);
        // in a scope of its own: the frozen output and the adapter's temporaries are freed once added (autograd
        // keeps what backward needs), not when the caller's scope closes
        return Scope.scoped(() -> adapter.addTo(frozen(x), x, this));
    }

    @Override public Tensor gradientPath(Tensor x) {
        if (adapter != null && adapter.readsHostOutput()) return forward(x);
        long out = weightShape()[0];
        Tensor y = fp8 == null ? FrozenProduct.linearGradientOnly(x, out, () -> weight, weight.dtype())
                : FrozenProduct.linearGradientOnly(x, out, fp8::dense, fp8.dtype());
        return adapter == null ? y : Scope.scoped(() -> adapter.addTo(y, x, this));
    }

    private Tensor frozen(Tensor x) {
        return fp8 == null ? Functional.linear(x, weight, bias) : FrozenProduct.linear(x, fp8::dense, bias, fp8.dtype());
    }

    @Override public Kind kind() { return Kind.LINEAR; }
    @Override public long[] weightShape() { return fp8 == null ? weight.shape() : fp8.shape(); }
    /** The weight; a dense copy in the current scope when stored as fp8. */
    @Override public Tensor weight() { return fp8 == null ? weight : fp8.dense(); }
    @Override public boolean quantized() { return fp8 != null; }
    @Override public Tensor bias() { return bias; }
    @Override public void attach(Adapter a) { adapter = a; }
    @Override public Adapter adapter() { return adapter; }
}
