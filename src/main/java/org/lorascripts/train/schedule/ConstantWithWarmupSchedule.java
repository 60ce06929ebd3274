package org.lorascripts.train.schedule;

/**
 * HF {@code _get_constant_schedule_with_warmup_lr_lambda} (transformers/optimization.py):
 * {@code step / max(1, warmup)} during warmup, then 1; times the base rate.
 */
public record ConstantWithWarmupSchedule(double baseLr, long warmupSteps) implements LrSchedule {
    public ConstantWithWarmupSchedule {
        LinearWarmup.check(baseLr, warmupSteps);
    }

    @Override
    public double lr(long step) {
        if (LinearWarmup.inWarmup(step, warmupSteps)) {
            return baseLr * LinearWarmup.factor(step, warmupSteps);
        }
        return baseLr;
    }
}
