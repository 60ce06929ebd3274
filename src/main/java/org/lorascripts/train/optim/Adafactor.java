package org.lorascripts.train.optim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Tensor;

/**
 * Adafactor (Shazeer &amp; Stern 2018) step for step as {@code transformers.optimization.Adafactor}.
 * Per parameter with step t: ρ = min(warmup_init ? 1e-6·t : 1e-2, 1/sqrt(t)) when relative_step,
 * else the scheduled lr; α = ρ · max(eps2, RMS(p)) when scale_parameter, else ρ; β2t = 1 - t^decay_rate;
 * u = g² + eps1. Parameters of two or more dimensions keep factored second moments (row means
 * R over the last dimension, column means C over the one before it):
 * <pre>
 * R = β2t·R + (1-β2t)·mean_last(u)      C = β2t·C + (1-β2t)·mean_second_last(u)
 * v̂ = (R / mean(R)) ⊗ C                 (1-D: v = β2t·v + (1-β2t)·u, v̂ = v)
 * U = g / sqrt(v̂);  U /= max(1, RMS(U)/clip_threshold);  U *= α
 * m = β1·m + (1-β1)·U, U = m            (only when beta1 is set)
 * p -= α·wd·p;  p -= U
 * </pre>
 * With relative_step the scheduled learning rate is not used (the step size is Adafactor's own,
 * times the parameter's lrScale); without it the scheduled rate is ρ.
 */
public final class Adafactor extends ComposedOptimizer {
    static final String EXP_AVG = "exp_avg";
    static final String EXP_AVG_SQ = "exp_avg_sq";
    static final String ROW = "exp_avg_sq_row";
    static final String COL = "exp_avg_sq_col";

    private final double eps1;
    private final double eps2;
    private final double clipThreshold;
    private final double decayRate;
    private final Double beta1;
    private final double weightDecay;
    private final boolean scaleParameter;
    private final boolean relativeStep;
    private final boolean warmupInit;

    /** @param beta1 null for no first moment (the default) */
    public Adafactor(List<NamedParam> params, double eps1, double eps2, double clipThreshold, double decayRate, Double beta1,
                     double weightDecay, boolean scaleParameter, boolean relativeStep, boolean warmupInit) {
        super("Adafactor", params);
        check(!warmupInit || relativeStep, "Adafactor: warmup_init=True requires relative_step=True");
        check(clipThreshold > 0, "clip_threshold must be > 0, got " + clipThreshold);
        check(decayRate <= 0, "decay_rate must be <= 0, got " + decayRate);
        check(beta1 == null || (beta1 >= 0 && beta1 < 1), "beta1 must be in [0, 1) or None, got " + beta1);
        check(weightDecay >= 0, "weight decay must be >= 0, got " + weightDecay);
        this.eps1 = eps1;
        this.eps2 = eps2;
        this.clipThreshold = clipThreshold;
        this.decayRate = decayRate;
        this.beta1 = beta1;
        this.weightDecay = weightDecay;
        this.scaleParameter = scaleParameter;
        this.relativeStep = relativeStep;
        this.warmupInit = warmupInit;
    }

    public boolean relativeStep() { return relativeStep; }

    @Override List<Slot> slots(long[] shape) {
        List<Slot> r = new ArrayList<>();
        if (beta1 != null) r.add(Slot.zeros(EXP_AVG, shape));
        if (shape.length >= 2) {
            long[] row = Arrays.copyOf(shape, shape.length - 1);
            long[] col = Arrays.copyOf(shape, shape.length - 1);
            col[col.length - 1] = shape[shape.length - 1];
            r.add(Slot.zeros(ROW, row));
            r.add(Slot.zeros(COL, col));
        } else {
            r.add(Slot.zeros(EXP_AVG_SQ, shape));
        }
        return r;
    }

    /** ||t|| / sqrt(numel) as a 0-dim tensor on t's device (no host sync). */
    private static Tensor rms(Tensor t) { return t.norm().div_(Math.sqrt(t.numel())); }

    @Override void update(Tensor p, Tensor g, Map<String, Tensor> s, long step, double lr, double lrScale) {
        // lr here is the scheduled rate times the parameter's scale; with relative_step only the scale counts
        double rho = relativeStep ? Math.min(warmupInit ? 1e-6 * step : 1e-2, 1.0 / Math.sqrt(step)) : lr;
        double size = relativeStep ? rho * lrScale : rho;
        // α stays on the device, as in transformers: max(eps2, RMS(p))·ρ needs no host sync
        Tensor alpha = scaleParameter ? rms(p).clampMin_(eps2).mul_(size) : null;
        double beta2t = 1.0 - Math.pow(step, decayRate);
        Tensor u = g.square().add_(eps1);
        Tensor update;
        int nd = p.shape().length;
        if (nd >= 2) {
            Tensor row = s.get(ROW);
            Tensor col = s.get(COL);
            row.mul_(beta2t).add_(u.mean(nd - 1), 1 - beta2t);
            col.mul_(beta2t).add_(u.mean(nd - 2), 1 - beta2t);
            Tensor r = row.div(row.mean(new long[] {nd - 2}, true)).rsqrt().unsqueeze(nd - 1);
            Tensor c = col.unsqueeze(nd - 2).rsqrt();
            update = r.mul(c).mul_(g);
        } else {
            Tensor v = s.get(EXP_AVG_SQ);
            v.mul_(beta2t).add_(u, 1 - beta2t);
            update = v.rsqrt().mul_(g);
        }
        update.div_(rms(update).div_(clipThreshold).clampMin_(1.0));
        if (alpha != null) update.mul_(alpha);
        else update.mul_(size);
        if (beta1 != null) {
            Tensor m = s.get(EXP_AVG);
            m.mul_(beta1).add_(update, 1 - beta1);
            update = m;
        }
        if (weightDecay != 0) p.add_(alpha != null ? p.mul(alpha).mul_(-weightDecay) : p.mul(-weightDecay * size));
        p.sub_(update);
    }
}
