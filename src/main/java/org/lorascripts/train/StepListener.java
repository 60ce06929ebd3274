package org.lorascripts.train;

/** Observes a run step by step (tests, embedding callers); called on the training thread. */
public interface StepListener {
    /**
     * One optimizer step done.
     *
     * @param step     steps completed (1 after the first)
     * @param loss     Σ lossSum / Σ weight over the step's accumulation window
     * @param lr       the learning rate the step used
     * @param gradNorm gradient L2 norm before clipping
     * @param applied  false when the update was skipped for inf/nan gradients
     */
    default void onStep(long step, double loss, double lr, double gradNorm, boolean applied) {}

    default void onValidation(long step, double valLoss) {}

    StepListener NONE = new StepListener() {};
}
