package org.lorascripts.nn;

import org.lorascripts.tensor.Tensor;

/** RMS norm over the last dim (LLaMA's: computed in fp32, cast back, then scaled). */
public final class RmsNorm {
    private final Tensor weight;
    private final double eps;

    public RmsNorm(Weights w, long dim, double eps) {
        this.weight = w.get("weight", dim);
        this.eps = eps;
    }

    public Tensor forward(Tensor x) { return FusedOps.rmsNorm(x, weight, eps); }
}
