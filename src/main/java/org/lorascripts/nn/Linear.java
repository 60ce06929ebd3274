package org.lorascripts.nn;

import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/** y = x W^T + b with a frozen W (out, in), plus an optional adapter. */
public final class Linear implements LinearLayer {
    private final Tensor weight;
    private final Tensor bias;
    private Adapter adapter;

    public Linear(Weights w, long in, long out, boolean bias) {
        this.weight = w.get("weight", out, in);
        this.bias = bias ? w.get("bias", out) : null;
        w.registerLoraHost(this);
    }

    /** A linear over given tensors (e.g. a tied output projection); not registered for LoRA. */
    public Linear(Tensor weight, Tensor bias) {
        this.weight = weight;
        this.bias = bias;
    }

    @Override public Tensor forward(Tensor x) {
        if (adapter == null) return Functional.linear(x, weight, bias);
        // in a scope of its own: the frozen output and the adapter's temporaries are freed once added (autograd
        // keeps what backward needs), not when the caller's scope closes
        return Scope.scoped(() -> adapter.addTo(Functional.linear(x, weight, bias), x, this));
    }

    @Override public Kind kind() { return Kind.LINEAR; }
    @Override public long[] weightShape() { return weight.shape(); }
    @Override public Tensor weight() { return weight; }
    @Override public Tensor bias() { return bias; }
    @Override public void attach(Adapter a) { adapter = a; }
    @Override public Adapter adapter() { return adapter; }
}
