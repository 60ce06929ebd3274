package org.lorascripts.train.progress;

import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * The numbers a progress display shows, independent of how it is drawn: a smoothed loss, the step
 * rate and the ETA. The rate is measured from the first reported step onwards, so the first step's
 * one-off cost (model load, cudnn autotune, compilation) does not skew it.
 */
public final class ProgressStats {
    /** EMA weight of the loss history; per-step diffusion losses are noisy, so lean on the past. */
    static final double LOSS_BETA = 0.9;

    private final long totalSteps;
    private final LongSupplier nanoTime;
    private double lossEma;
    private int lossCount;
    private long firstStep = -1;
    private long firstNanos;
    private long step;
    private long nowNanos;
    private double lr = Double.NaN;

    public ProgressStats(long totalSteps, LongSupplier nanoTime) {
        if (totalSteps <= 0) throw new IllegalArgumentException("total steps must be > 0, got " + totalSteps);
        this.totalSteps = totalSteps;
        this.nanoTime = nanoTime;
    }

    /** Records that {@code step} optimizer steps are complete, with the last step's loss and lr. */
    public synchronized void update(long step, double loss, double lr) {
        long now = nanoTime.getAsLong();
        if (firstStep < 0) {
            firstStep = step;
            firstNanos = now;
        }
        this.step = step;
        this.nowNanos = now;
        this.lr = lr;
        lossEma = LOSS_BETA * lossEma + (1 - LOSS_BETA) * loss;
        lossCount++;
    }

    public synchronized long step() {
        return step;
    }

    public long totalSteps() {
        return totalSteps;
    }

    public synchronized double lr() {
        return lr;
    }

    /** Bias-corrected EMA (as Adam corrects its moments), so early values are not pulled toward 0. */
    public synchronized double smoothedLoss() {
        if (lossCount == 0) return Double.NaN;
        return lossEma / (1 - Math.pow(LOSS_BETA, lossCount));
    }

    /** Steps per second since the first reported step; NaN until two steps were seen. */
    public synchronized double stepsPerSecond() {
        long steps = step - firstStep;
        double seconds = (nowNanos - firstNanos) / 1e9;
        if (firstStep < 0 || steps <= 0 || seconds <= 0) return Double.NaN;
        return steps / seconds;
    }

    public synchronized double etaSeconds() {
        double rate = stepsPerSecond();
        return Double.isNaN(rate) ? Double.NaN : Math.max(0, totalSteps - step) / rate;
    }

    public synchronized double percent() {
        return 100.0 * step / totalSteps;
    }

    /** "2.50 it/s", or "3.20 s/it" when slower than one step per second, as tqdm shows it. */
    public synchronized String rateText() {
        double rate = stepsPerSecond();
        if (Double.isNaN(rate)) return "? it/s";
        if (rate >= 1.0) return String.format(Locale.ROOT, "%.2f it/s", rate);
        return String.format(Locale.ROOT, "%.2f s/it", 1.0 / rate);
    }

    /** "loss 0.1234 lr 1.00e-04 2.50 it/s": the part both display modes share. */
    public synchronized String metricsText() {
        return String.format(Locale.ROOT, "loss %.4f lr %.2e %s", smoothedLoss(), lr, rateText());
    }
}
