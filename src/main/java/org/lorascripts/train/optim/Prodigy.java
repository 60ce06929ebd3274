package org.lorascripts.train.optim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Prodigy (Mishchenko &amp; Defazio 2023), step for step as the prodigyopt package v1.0: Adam whose
 * step size d is estimated from the distance travelled from the initial weights p0. Per step with
 * the current d, k the optimizer's step count, bc = use_bias_correction ? sqrt(1-β2^(k+1))/(1-β1^(k+1)) : 1
 * and dlr = d·lr·bc:
 * <pre>
 * num = β3·num + Σ (d/d0)·dlr·⟨g, p0 - p⟩
 * m = β1·m + d(1-β1)·g        v = β2·v + d²(1-β2)·g²
 * s = β3·s + (d/d0)·(safeguard_warmup ? d : dlr)·g;  den = Σ |s|
 * d̂ = d_coef·num/den;  d = max(d, d̂) while d is still d0;  d_max = max(d_max, d̂);  d = min(d_max, d·growth_rate)
 * p -= dlr·wd·p (decoupled; coupled adds wd·p to g instead);  p -= dlr · m / (sqrt(v) + d·eps)
 * </pre>
 * The sums run over every parameter with a gradient; a step whose den is 0 changes no weight.
 * β3 defaults to sqrt(β2); lr is normally 1. prodigyopt refuses parameter groups with different
 * rates; here d is estimated with the largest scheduled rate (lr·lrScale) and each parameter steps
 * with its own, which is prodigyopt's behaviour when all scales are equal. State: per parameter
 * {@code s}, {@code p0}, {@code exp_avg}, {@code exp_avg_sq}; optimizer-wide {@code d},
 * {@code d_max}, {@code d_numerator}, {@code k}.
 */
public final class Prodigy extends ComposedOptimizer {
    static final String S = "s";
    static final String P0 = "p0";
    static final String EXP_AVG = "exp_avg";
    static final String EXP_AVG_SQ = "exp_avg_sq";

    private final double beta1;
    private final double beta2;
    private final double beta3;
    private final double eps;
    private final double weightDecay;
    private final boolean decouple;
    private final boolean useBiasCorrection;
    private final boolean safeguardWarmup;
    private final double d0;
    private final double dCoef;
    private final double growthRate;
    private double d;
    private double dMax;
    private double dNumerator;
    private long k;

    /** @param beta3 NaN for the default sqrt(beta2) */
    public Prodigy(List<NamedParam> params, double beta1, double beta2, double beta3, double eps, double weightDecay,
                   boolean decouple, boolean useBiasCorrection, boolean safeguardWarmup, double d0, double dCoef, double growthRate) {
        super("Prodigy", params);
        check(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), got " + beta1);
        check(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), got " + beta2);
        check(Double.isNaN(beta3) || (beta3 >= 0 && beta3 < 1), "beta3 must be in [0, 1), got " + beta3);
        check(eps >= 0, "eps must be >= 0, got " + eps);
        check(weightDecay >= 0, "weight decay must be >= 0, got " + weightDecay);
        check(d0 > 0, "d0 must be > 0, got " + d0);
        check(dCoef > 0, "d_coef must be > 0, got " + dCoef);
        check(growthRate >= 1, "growth_rate must be >= 1, got " + growthRate);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.beta3 = Double.isNaN(beta3) ? Math.sqrt(beta2) : beta3;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decouple = decouple;
        this.useBiasCorrection = useBiasCorrection;
        this.safeguardWarmup = safeguardWarmup;
        this.d0 = d0;
        this.dCoef = dCoef;
        this.growthRate = growthRate;
        loadGlobalState(Map.of());
    }

    /** The current step-size estimate d. */
    public double d() { return d; }

    @Override List<Slot> slots(long[] shape) {
        return List.of(Slot.zeros(S, shape), new Slot(P0, shape, true), Slot.zeros(EXP_AVG, shape), Slot.zeros(EXP_AVG_SQ, shape));
    }

    @Override void update(Tensor p, Tensor g, Map<String, Tensor> s, long step, double lr, double lrScale) {
        throw new UnsupportedOperationException("Prodigy steps all parameters together");
    }

    @Override void stepActive(double lr, List<Integer> active) {
        double lrMax = 0;
        for (NamedParam np : params) lrMax = Math.max(lrMax, lr * np.lrScale());
        double bc = useBiasCorrection ? Math.sqrt(1 - Math.pow(beta2, k + 1)) / (1 - Math.pow(beta1, k + 1)) : 1;
        double dlr = d * lrMax * bc;
        // the sums stay on the device in f64 (prodigyopt adds Python floats) and are read once per step
        Tensor numAcc = null;
        Tensor denAcc = null;
        for (int i : active) {
            NamedParam np = params.get(i);
            Tensor p = np.tensor();
            Tensor g = p.grad();
            if (weightDecay != 0 && !decouple) g = g.add(p, weightDecay);
            Map<String, Tensor> st = stateOf(i);
            if (lr * np.lrScale() > 0) {
                Tensor dot = g.flatten().mul(st.get(P0).sub(p).flatten()).sum().to(DType.F64).mul_((d / d0) * dlr);
                st.get(EXP_AVG).mul_(beta1).add_(g, d * (1 - beta1));
                st.get(EXP_AVG_SQ).mul_(beta2).addcmul_(g, g, d * d * (1 - beta2));
                st.get(S).mul_(beta3).add_(g, (d / d0) * (safeguardWarmup ? d : dlr));
                Tensor abs = st.get(S).abs().sum().to(DType.F64);
                numAcc = numAcc == null ? dot : numAcc.add_(dot.device().equals(numAcc.device()) ? dot : dot.to(numAcc.device()));
                denAcc = denAcc == null ? abs : denAcc.add_(abs.device().equals(denAcc.device()) ? abs : abs.to(denAcc.device()));
            }
        }
        if (numAcc == null) return;
        double[] sums = Torch.stack(List.of(numAcc, denAcc), 0).toDoubleArray();
        double num = dNumerator * beta3 + sums[0];
        double den = sums[1];
        if (den == 0) return;
        double dNew = d;
        double dMaxNew = dMax;
        if (lrMax > 0) {
            double dHat = dCoef * num / den;
            if (d == d0) dNew = Math.max(d, dHat);
            dMaxNew = Math.max(dMax, dHat);
            dNew = Math.min(dMaxNew, dNew * growthRate);
        }
        dNumerator = num;
        d = dNew;
        dMax = dMaxNew;
        for (int i : active) {
            NamedParam np = params.get(i);
            Tensor p = np.tensor();
            Map<String, Tensor> st = stateOf(i);
            advance(i);
            double dlrI = lrMax > 0 ? dlr * (lr * np.lrScale() / lrMax) : 0;
            Tensor denom = st.get(EXP_AVG_SQ).sqrt().add_(d * eps);
            if (weightDecay != 0 && decouple) p.add_(p, -weightDecay * dlrI);
            p.addcdiv_(st.get(EXP_AVG), denom, -dlrI);
        }
        k++;
    }

    @Override Map<String, Double> globalState() {
        Map<String, Double> r = new LinkedHashMap<>();
        r.put("d", d);
        r.put("d_max", dMax);
        r.put("d_numerator", dNumerator);
        r.put("k", (double) k);
        return r;
    }

    @Override void loadGlobalState(Map<String, Double> saved) {
        d = saved.getOrDefault("d", d0);
        dMax = saved.getOrDefault("d_max", d0);
        dNumerator = saved.getOrDefault("d_numerator", 0.0);
        k = saved.getOrDefault("k", 0.0).longValue();
    }
}
