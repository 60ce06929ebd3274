package org.lorascripts.train;

/**
 * The train losses since the last logged {@code train/loss} row, whose mean that row reports.
 * It is saved in checkpoints ({@link Saved}) and restored on resume, so the first row after a
 * resume is the mean of the same steps an uninterrupted run would have averaged; a row over
 * fewer steps than log_interval (the last step, an early stop, a checkpoint that did not save
 * the window) is marked partial in metrics.jsonl.
 */
final class LossWindow {
    /** The window as trainer_state.json holds it. */
    record Saved(int steps, double lossSum) {
        static final Saved EMPTY = new Saved(0, 0);
    }

    private int steps;
    private double lossSum;

    LossWindow(Saved saved) {
        steps = saved.steps();
        lossSum = saved.lossSum();
    }

    void add(double loss) {
        steps++;
        lossSum += loss;
    }

    int steps() { return steps; }

    double mean() { return steps == 0 ? Double.NaN : lossSum / steps; }

    Saved saved() { return new Saved(steps, lossSum); }

    void reset() {
        steps = 0;
        lossSum = 0;
    }
}
