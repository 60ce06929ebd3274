package org.lorascripts.train.optim;

import java.util.List;
import java.util.Map;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Tensor;

/**
 * Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"), step for step as the
 * lion-pytorch package:
 * <pre>
 * p *= 1 - lr·wd
 * p -= lr · sign(β1·m + (1-β1)·g)
 * m  = β2·m + (1-β2)·g
 * </pre>
 * Defaults β1 0.9, β2 0.99, weight decay 0. The update has the size of lr in every element, so Lion
 * wants a rate 3-10x below AdamW's. State: {@code exp_avg} per parameter.
 */
public final class Lion extends ComposedOptimizer {
    static final String EXP_AVG = "exp_avg";

    private final double beta1;
    private final double beta2;
    private final double weightDecay;

    public Lion(List<NamedParam> params, double beta1, double beta2, double weightDecay) {
        super("Lion", params);
        check(beta1 >= 0 && beta1 <= 1, "beta1 must be in [0, 1], got " + beta1);
        check(beta2 >= 0 && beta2 <= 1, "beta2 must be in [0, 1], got " + beta2);
        check(weightDecay >= 0, "weight decay must be >= 0, got " + weightDecay);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.weightDecay = weightDecay;
    }

    @Override List<Slot> slots(long[] shape) { return List.of(Slot.zeros(EXP_AVG, shape)); }

    @Override void update(Tensor p, Tensor g, Map<String, Tensor> s, long step, double lr, double lrScale) {
        Tensor m = s.get(EXP_AVG);
        if (weightDecay != 0) p.mul_(1 - lr * weightDecay);
        Tensor direction = m.mul(beta1).add_(g, 1 - beta1).sign();
        p.add_(direction, -lr);
        m.mul_(beta2).add_(g, 1 - beta2);
    }
}
