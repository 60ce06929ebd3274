package org.lorascripts.nn;

import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;

/** Layer norm over the last dim with affine weight and bias. */
public final class LayerNorm {
    private final Tensor weight, bias;
    private final long dim;
    private final double eps;

    public LayerNorm(Weights w, long dim, double eps) {
        this.weight = w.get("weight", dim);
        this.bias = w.get("bias", dim);
        this.dim = dim;
        this.eps = eps;
    }

    public Tensor forward(Tensor x) { return Functional.layerNorm(x, new long[] {dim}, weight, bias, eps); }

    /**
     * {@link #forward} as one fused kernel each way on CUDA ({@link FusedOps#layerNorm}), the output in autocast's
     * dtype under autocast: for a consumer that casts its input to it anyway (a linear layer).
     */
    public Tensor forwardFused(Tensor x) { return FusedOps.layerNorm(x, weight, bias, eps); }
}
