package org.lorascripts.train.optim;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Tensor;

/**
 * A first-order optimizer over named float32 parameters. The learning rate is an argument of
 * {@link #step} because the schedule lives outside; each parameter takes it times its
 * {@link NamedParam#lrScale()}. A parameter without a gradient is skipped and its state (step count
 * included) does not advance. The state is created on a parameter's first step, lives outside any
 * scope, is saved and restored by name through {@link #stateDict} / {@link #loadStateDict}, and is
 * freed by {@link #close}; the parameters stay the caller's.
 */
public interface Optimizer extends AutoCloseable {
    /** The registered parameters, in order. */
    List<NamedParam> params();

    /** The parameter tensors, in order (for gradient clipping and loss scaling). */
    default List<Tensor> paramTensors() {
        List<Tensor> r = new ArrayList<>(params().size());
        for (NamedParam p : params()) r.add(p.tensor());
        return r;
    }

    /** One update of every parameter that has a gradient. */
    default void step(double lr) { step(lr, null); }

    /**
     * The fp16 path: when {@code foundInf} (a one-element f32 tensor, or null) is non-zero no
     * parameter and no state changes.
     */
    void step(double lr, Tensor foundInf);

    /**
     * Whether {@link #stepOnDevice} works for the current parameters: a step that reads nothing back to
     * the host and takes its learning rate from a device tensor, so it can be captured in a CUDA graph.
     */
    default boolean stepsOnDevice() { return false; }

    /**
     * One step with the learning rate in {@code lr} (a one-element f32 tensor on the parameters' device)
     * and, unless null, skipped on the device when {@code foundInf} is non-zero. Reads nothing back.
     */
    default void stepOnDevice(Tensor lr, Tensor foundInf) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no device-only step");
    }

    /** Drops every gradient (PyTorch's {@code zero_grad(set_to_none=True)}). */
    default void zeroGrad() {
        for (NamedParam p : params()) p.tensor().zeroGrad();
    }

    /**
     * Copies of the state keyed {@code <param name>.<state name>}, for every parameter that has
     * state, plus any optimizer-wide entries; the copies belong to the caller's open scope.
     */
    Map<String, Tensor> stateDict();

    /**
     * Replaces the whole state with copies of {@code dict} (as from {@link #stateDict}); parameters
     * absent from it start fresh. Everything is checked before anything changes; a bad key or
     * shape is an {@link IllegalArgumentException} naming it.
     */
    void loadStateDict(Map<String, Tensor> dict);

    /**
     * Bytes the optimizer state takes now. This default counts every entry of {@link #stateDict}, which
     * copies the state for a moment; the optimizers here count their tensors in place.
     */
    default long stateBytes() {
        long r = 0;
        try (org.lorascripts.tensor.Scope scope = org.lorascripts.tensor.Scope.open()) {
            for (Tensor t : stateDict().values()) r += t.numel() * t.dtype().byteSize;
        }
        return r;
    }

    /** Frees the state; the parameters stay the caller's. */
    @Override void close();
}
