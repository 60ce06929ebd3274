package org.lorascripts.train.optim;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.ffi.AutogradApi;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** Gradient-norm clipping as {@code torch.nn.utils.clip_grad_norm_} (L2 norm, error_if_nonfinite off). */
public final class GradClipping {
    private GradClipping() {}

    /** The guard torch adds to the norm so an all-zero gradient does not divide by zero. */
    static final double NORM_EPS = 1e-6;

    /**
     * Scales the gradients of {@code params} in place so that their joint L2 norm
     * (sqrt of the sum of the per-gradient norms squared) is at most {@code maxNorm}, and returns
     * that norm as it was before clipping. Parameters without a gradient are ignored; with none at
     * all the norm is 0.
     *
     * <p>A non-finite norm (an fp16 overflow, a diverged step) is returned as is and the gradients are
     * left untouched: scaling by maxNorm/inf would turn every inf into nan and hide where it came
     * from, and the step that follows is skipped by {@link GradScaler} or should be by the caller.
     */
    /**
     * {@link #clipGradNorm} without reading anything back: returns the total norm as a one-element
     * f32 tensor on the gradients' device and scales the gradients by min(1, maxNorm / (norm + 1e-6))
     * there (maxNorm infinite: no scaling). All gradients must be on one device. For CUDA graphs.
     */
    public static Tensor clipGradNormOnDevice(List<Tensor> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("maxNorm must be > 0, got " + maxNorm);
        try (Scope scope = Scope.open(); Autograd.GradMode noGrad = Autograd.noGrad()) {
            List<Tensor> grads = grads(params);
            if (grads.isEmpty()) throw new IllegalStateException("no gradients to clip");
            Tensor total = Torch.stack(Torch.norms(grads), 0).norm().to(org.lorascripts.tensor.DType.F32);
            if (Double.isFinite(maxNorm)) {
                Tensor coef = total.add(NORM_EPS).reciprocal().mul(maxNorm).clampMax(1.0);
                long[] hs = new long[grads.size()];
                for (int i = 0; i < hs.length; i++) hs[i] = grads.get(i).handle();
                AutogradApi.foreachMulTensor_(hs, coef.handle());
            }
            return total.keep();
        }
    }

    public static double clipGradNorm(List<Tensor> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("maxNorm must be > 0, got " + maxNorm);
        try (Scope scope = Scope.open(); Autograd.GradMode noGrad = Autograd.noGrad()) {
            List<Tensor> grads = grads(params);
            if (grads.isEmpty()) return 0.0;
            // one fused multi-tensor kernel per call on CUDA; the norms meet on the first grad's device
            List<Tensor> norms = Torch.norms(grads);
            Device home = norms.get(0).device();
            List<Tensor> local = new ArrayList<>(norms.size());
            for (Tensor n : norms) local.add(n.device().equals(home) ? n : n.to(home));
            double total = Torch.stack(local, 0).norm().item();
            if (!Double.isFinite(total)) return total;
            double coef = maxNorm / (total + NORM_EPS);
            if (coef < 1.0) {
                long[] hs = new long[grads.size()];
                for (int i = 0; i < hs.length; i++) hs[i] = grads.get(i).handle();
                AutogradApi.foreachMulScalar_(hs, coef);
            }
            return total;
        }
    }

    /** The gradients of the parameters that have one, in order. */
    private static List<Tensor> grads(List<Tensor> params) {
        List<Tensor> grads = new ArrayList<>(params.size());
        for (Tensor p : params) {
            Tensor g = p.grad();
            if (g != null) grads.add(g);
        }
        return grads;
    }
}
