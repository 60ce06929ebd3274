package org.lorascripts.tensor;

import java.util.List;
import org.lorascripts.ffi.AutogradApi;

/** Grad mode (thread-local, as in libtorch) and functional gradients. */
public final class Autograd {
    private Autograd() {}

    /** Restores the previous grad mode on close. */
    public static final class GradMode implements AutoCloseable {
        private final boolean previous;
        private boolean closed;

        private GradMode(boolean enabled) {
            previous = AutogradApi.gradEnabled();
            AutogradApi.setGradEnabled(enabled);
        }

        @Override public void close() {
            if (closed) return;
            closed = true;
            AutogradApi.setGradEnabled(previous);
        }
    }

    /** {@code try (var g = Autograd.noGrad()) { ... }}: no graph is recorded inside. */
    public static GradMode noGrad() { return new GradMode(false); }

    public static GradMode enableGrad() { return new GradMode(true); }

    public static boolean isGradEnabled() { return AutogradApi.gradEnabled(); }

    /**
     * A copy of {@code value} (typically a scalar loss) whose backward sends {@code gradOut * grad}
     * to {@code input} and nothing to {@code value} or {@code grad}: for a loss whose gradient
     * w.r.t. {@code input} was computed during the forward pass, under no-grad. {@code grad} has
     * {@code input}'s shape; the result's gradient is cast to {@code input}'s dtype.
     */
    public static Tensor withPrecomputedGrad(Tensor value, Tensor input, Tensor grad) {
        return Tensor.wrap(AutogradApi.injectGrad(value.handle(), input.handle(), grad.handle()));
    }

    /** d(sum of outputs · gradOutputs)/d(inputs); null entries for unused inputs. gradOutputs may be null for scalar outputs. */
    public static List<Tensor> grad(List<Tensor> outputs, List<Tensor> gradOutputs, List<Tensor> inputs, boolean retainGraph, boolean createGraph) {
        long[] go = gradOutputs == null ? null : Torch.handles(gradOutputs);
        return Tensor.wrapAll(AutogradApi.grad(Torch.handles(outputs), go, Torch.handles(inputs), retainGraph, createGraph));
    }
}
