package org.lorascripts.train.optim;

import java.util.List;
import java.util.Map;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Tensor;

/**
 * Stochastic gradient descent as {@code torch.optim.SGD} (maximize off): with d = g + wd·p (weight
 * decay added to the gradient, not decoupled),
 * <pre>
 * b = d                        on the first step (momentum on)
 * b = μ·b + (1-dampening)·d    after it
 * p -= lr · (nesterov ? d + μ·b : b)      (p -= lr·d without momentum)
 * </pre>
 * State: {@code momentum_buffer} per parameter when momentum is on.
 */
public final class Sgd extends ComposedOptimizer {
    static final String MOMENTUM_BUFFER = "momentum_buffer";

    private final double momentum;
    private final double dampening;
    private final double weightDecay;
    private final boolean nesterov;

    public Sgd(List<NamedParam> params, double momentum, double dampening, double weightDecay, boolean nesterov) {
        super(nesterov ? "SGD (Nesterov)" : "SGD", params);
        check(momentum >= 0, "momentum must be >= 0, got " + momentum);
        check(weightDecay >= 0, "weight decay must be >= 0, got " + weightDecay);
        check(!nesterov || (momentum > 0 && dampening == 0), "Nesterov momentum requires a momentum > 0 and zero dampening");
        this.momentum = momentum;
        this.dampening = dampening;
        this.weightDecay = weightDecay;
        this.nesterov = nesterov;
    }

    @Override List<Slot> slots(long[] shape) { return momentum != 0 ? List.of(Slot.zeros(MOMENTUM_BUFFER, shape)) : List.of(); }

    @Override void update(Tensor p, Tensor g, Map<String, Tensor> s, long step, double lr, double lrScale) {
        Tensor d = weightDecay != 0 ? g.add(p, weightDecay) : g;
        if (momentum != 0) {
            Tensor b = s.get(MOMENTUM_BUFFER);
            if (step == 1) b.copy_(d);
            else b.mul_(momentum).add_(d, 1 - dampening);
            d = nesterov ? d.add(b, momentum) : b;
        }
        p.add_(d, -lr);
    }
}
