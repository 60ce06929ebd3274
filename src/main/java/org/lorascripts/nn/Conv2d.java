package org.lorascripts.nn;

import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * A frozen 2-D convolution (weight (out, in/groups, k, k)), plus an optional adapter. With {@link Weights#fp8Base()}
 * the weight is stored as fp8, as on {@link Linear}.
 */
public final class Conv2d implements LoraHost {
    private final Tensor weight;   // null when stored as fp8
    private final Fp8Weight fp8;
    private final Tensor bias;
    private final int stride, padding, groups;
    private Adapter adapter;

    public Conv2d(Weights w, long in, long out, int kernel, int stride, int padding, boolean bias) {
        this(w, in, out, kernel, stride, padding, 1, bias);
    }

    public Conv2d(Weights w, long in, long out, int kernel, int stride, int padding, int groups, boolean bias) {
        this.fp8 = w.fp8Base() ? Fp8Weight.load(w, out, in / groups, kernel, kernel) : null;
        this.weight = fp8 == null ? w.get("weight", out, in / groups, kernel, kernel) : null;
        this.bias = bias ? w.get("bias", out) : null;
        this.stride = stride;
        this.padding = padding;
        this.groups = groups;
        w.registerLoraHost(this);
    }

    public Tensor forward(Tensor x) {
        if (adapter == null) return frozen(x);
        // in a scope of its own: the frozen output and the adapter's temporaries are freed once added (autograd
        // keeps what backward needs), not when the caller's scope closes
        return Scope.scoped(() -> adapter.addTo(frozen(x), x, this));
    }

    /**
     * This convolution's output for the gradients alone, as {@link LinearLayer#gradientPath}: the gradients sent to
     * {@code x} and to the adapter are those of {@link #forward}; the frozen convolution is not computed, its place a
     * broadcast zero. With an adapter that reads the frozen output (DoRA) it is computed.
     */
    public Tensor gradientPath(Tensor x) {
        if (adapter != null && adapter.readsHostOutput()) return forward(x);
        Tensor y = fp8 == null ? FrozenProduct.conv2dGradientOnly(x, weight.shape(), () -> weight, stride, padding, groups, weight.dtype())
                : FrozenProduct.conv2dGradientOnly(x, fp8.shape(), fp8::dense, stride, padding, groups, fp8.dtype());
        return adapter == null ? y : Scope.scoped(() -> adapter.addTo(y, x, this));
    }

    private Tensor frozen(Tensor x) {
        return fp8 == null ? Functional.conv2d(x, weight, bias, stride, padding, groups)
                : FrozenProduct.conv2d(x, fp8::dense, bias, stride, padding, groups, fp8.dtype());
    }

    @Override public Kind kind() { return Kind.CONV; }
    @Override public long[] weightShape() { return fp8 == null ? weight.shape() : fp8.shape(); }
    @Override public int stride() { return stride; }
    @Override public int padding() { return padding; }
    /** The weight; a dense copy in the current scope when stored as fp8. */
    @Override public Tensor weight() { return fp8 == null ? weight : fp8.dense(); }
    @Override public boolean quantized() { return fp8 != null; }
    @Override public Tensor bias() { return bias; }
    @Override public void attach(Adapter a) { adapter = a; }
    @Override public Adapter adapter() { return adapter; }
}
