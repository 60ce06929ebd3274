package org.lorascripts.nn;

import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;

/** Group norm over (B, C, ...) with per-channel affine weight and bias. */
public final class GroupNorm {
    private final Tensor weight, bias;
    private final int groups;
    private final double eps;

    public GroupNorm(Weights w, int groups, long channels, double eps) {
        this.weight = w.get("weight", channels);
        this.bias = w.get("bias", channels);
        this.groups = groups;
        this.eps = eps;
    }

    public Tensor forward(Tensor x) { return Functional.groupNorm(x, groups, weight, bias, eps); }

    /** silu(forward(x)), one fused kernel each way on CUDA ({@link FusedOps#groupNormSilu}). */
    public Tensor forwardSilu(Tensor x) { return FusedOps.groupNormSilu(x, groups, weight, bias, eps); }

    /**
     * {@link #forward} as one fused kernel each way on CUDA, the output in autocast's dtype under autocast: for a
     * consumer that casts its input to it anyway (a convolution or linear layer).
     */
    public Tensor forwardFused(Tensor x) { return FusedOps.groupNorm(x, groups, weight, bias, eps, false); }
}
