package org.lorascripts.train.schedule;

/**
 * HF {@code _get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda} (transformers/optimization.py):
 * after warmup, {@code progress = (step - warmup) / max(1, total - warmup)}; 0 once {@code progress >= 1};
 * otherwise {@code max(0, 0.5 * (1 + cos(pi * ((numCycles * progress) % 1))))}, i.e. {@code numCycles}
 * half-cosines, each restarting at the base rate.
 */
public record CosineWithRestartsSchedule(double baseLr, long warmupSteps, long totalSteps, int numCycles)
        implements LrSchedule {
    public CosineWithRestartsSchedule {
        LinearWarmup.check(baseLr, warmupSteps);
        LinearWarmup.checkTotal(warmupSteps, totalSteps);
        if (numCycles < 1) {
            throw new IllegalArgumentException("num_cycles must be >= 1, got " + numCycles);
        }
    }

    @Override
    public double lr(long step) {
        if (LinearWarmup.inWarmup(step, warmupSteps)) {
            return baseLr * LinearWarmup.factor(step, warmupSteps);
        }
        double progress = (double) (step - warmupSteps) / (double) Math.max(1, totalSteps - warmupSteps);
        if (progress >= 1.0) {
            return 0.0;
        }
        // Java's % on non-negative doubles equals Python's float %, which is what HF uses.
        return baseLr * Math.max(0.0, 0.5 * (1.0 + Math.cos(Math.PI * ((numCycles * progress) % 1.0))));
    }
}
