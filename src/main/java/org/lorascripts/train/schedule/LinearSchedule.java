package org.lorascripts.train.schedule;

/**
 * HF {@code _get_linear_schedule_with_warmup_lr_lambda} (transformers/optimization.py):
 * after warmup, {@code max(0, (total - step) / max(1, total - warmup))}; reaches 0 at {@code step == total}.
 */
public record LinearSchedule(double baseLr, long warmupSteps, long totalSteps) implements LrSchedule {
    public LinearSchedule {
        LinearWarmup.check(baseLr, warmupSteps);
        LinearWarmup.checkTotal(warmupSteps, totalSteps);
    }

    @Override
    public double lr(long step) {
        if (LinearWarmup.inWarmup(step, warmupSteps)) {
            return baseLr * LinearWarmup.factor(step, warmupSteps);
        }
        double factor = (double) (totalSteps - step) / (double) Math.max(1, totalSteps - warmupSteps);
        return baseLr * Math.max(0.0, factor);
    }
}
