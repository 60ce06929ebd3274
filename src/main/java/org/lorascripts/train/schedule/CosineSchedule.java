package org.lorascripts.train.schedule;

/**
 * HF {@code _get_cosine_schedule_with_warmup_lr_lambda} (transformers/optimization.py):
 * after warmup, {@code progress = (step - warmup) / max(1, total - warmup)} and
 * {@code max(0, 0.5 * (1 + cos(pi * numCycles * 2 * progress)))}. HF's default {@code numCycles = 0.5}
 * is a single half-cosine from the base rate to 0 at {@code step == total}. As in HF, steps past
 * {@code total} keep following the cosine rather than clamping.
 */
public record CosineSchedule(double baseLr, long warmupSteps, long totalSteps, double numCycles)
        implements LrSchedule {
    public static final double DEFAULT_NUM_CYCLES = 0.5;

    public CosineSchedule {
        LinearWarmup.check(baseLr, warmupSteps);
        LinearWarmup.checkTotal(warmupSteps, totalSteps);
    }

    @Override
    public double lr(long step) {
        if (LinearWarmup.inWarmup(step, warmupSteps)) {
            return baseLr * LinearWarmup.factor(step, warmupSteps);
        }
        double progress = (double) (step - warmupSteps) / (double) Math.max(1, totalSteps - warmupSteps);
        return baseLr * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * numCycles * 2.0 * progress)));
    }
}
