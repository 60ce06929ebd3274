package org.lorascripts.nn;

import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/** A frozen 2-D convolution (weight (out, in/groups, k, k)), plus an optional adapter. */
public final class Conv2d implements LoraHost {
    private final Tensor weight;
    private final Tensor bias;
    private final int stride, padding, groups;
    private Adapter adapter;

    public Conv2d(Weights w, long in, long out, int kernel, int stride, int padding, boolean bias) {
        this(w, in, out, kernel, stride, padding, 1, bias);
    }

    public Conv2d(Weights w, long in, long out, int kernel, int stride, int padding, int groups, boolean bias) {
        this.weight = w.get("weight", out, in / groups, kernel, kernel);
        this.bias = bias ? w.get("bias", out) : null;
        this.stride = stride;
        this.padding = padding;
        this.groups = groups;
        w.registerLoraHost(this);
    }

    public Tensor forward(Tensor x) {
        if (adapter == null) return Functional.conv2d(x, weight, bias, stride, padding, groups);
        // in a scope of its own: the frozen output and the adapter's temporaries are freed once added (autograd
        // keeps what backward needs), not when the caller's scope closes
        return Scope.scoped(() -> adapter.addTo(Functional.conv2d(x, weight, bias, stride, padding, groups), x, this));
    }

    @Override public Kind kind() { return Kind.CONV; }
    @Override public long[] weightShape() { return weight.shape(); }
    @Override public int stride() { return stride; }
    @Override public int padding() { return padding; }
    @Override public Tensor weight() { return weight; }
    @Override public Tensor bias() { return bias; }
    @Override public void attach(Adapter a) { adapter = a; }
    @Override public Adapter adapter() { return adapter; }
}
