package org.lorascripts.nn;

import org.lorascripts.tensor.Functional;
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
        Tensor y = Functional.linear(x, weight, bias);
        return adapter == null ? y : adapter.addTo(y, x, this);
    }

    @Override public Kind kind() { return Kind.LINEAR; }
    @Override public long[] weightShape() { return weight.shape(); }
    @Override public Tensor weight() { return weight; }
    @Override public Tensor bias() { return bias; }
    @Override public void attach(Adapter a) { adapter = a; }
    @Override public Adapter adapter() { return adapter; }
}
