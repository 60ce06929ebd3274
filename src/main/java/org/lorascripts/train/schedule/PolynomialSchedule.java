package org.lorascripts.train.schedule;

/**
 * HF {@code _get_polynomial_decay_schedule_with_warmup_lr_lambda} (transformers/optimization.py):
 * after warmup, {@code (base - lrEnd) * (1 - (step - warmup) / (total - warmup))^power + lrEnd};
 * {@code lrEnd} once {@code step > total}. HF defaults: {@code lrEnd = 1e-7}, {@code power = 1}, and it
 * rejects {@code lrEnd >= base}.
 */
public record PolynomialSchedule(double baseLr, long warmupSteps, long totalSteps, double lrEnd, double power)
        implements LrSchedule {
    public static final double DEFAULT_LR_END = 1e-7;
    public static final double DEFAULT_POWER = 1.0;

    public PolynomialSchedule {
        LinearWarmup.check(baseLr, warmupSteps);
        LinearWarmup.checkTotal(warmupSteps, totalSteps);
        if (!(baseLr > lrEnd)) {
            throw new IllegalArgumentException("lr_end (" + lrEnd + ") must be smaller than the initial lr (" + baseLr + ")");
        }
        if (warmupSteps == totalSteps) {
            // HF divides by (total - warmup) here and would raise ZeroDivisionError.
            throw new IllegalArgumentException("polynomial decay needs total steps > warmup steps, both are " + totalSteps);
        }
    }

    @Override
    public double lr(long step) {
        if (LinearWarmup.inWarmup(step, warmupSteps)) {
            return baseLr * LinearWarmup.factor(step, warmupSteps);
        }
        if (step > totalSteps) {
            return lrEnd;
        }
        double lrRange = baseLr - lrEnd;
        double decaySteps = totalSteps - warmupSteps;
        double pctRemaining = 1.0 - (step - warmupSteps) / decaySteps;
        return lrRange * Math.pow(pctRemaining, power) + lrEnd;
    }
}
