package org.lorascripts.train.schedule;

/** The warmup every HF schedule shares: {@code step / max(1, warmup)} while {@code step < warmup}. */
final class LinearWarmup {
    private LinearWarmup() {}

    static boolean inWarmup(long step, long warmupSteps) {
        return step < warmupSteps;
    }

    static double factor(long step, long warmupSteps) {
        return (double) step / (double) Math.max(1, warmupSteps);
    }

    static void check(double baseLr, long warmupSteps) {
        if (!(baseLr >= 0) || Double.isInfinite(baseLr)) {
            throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + baseLr);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warmup steps must be >= 0, got " + warmupSteps);
        }
    }

    static void checkTotal(long warmupSteps, long totalSteps) {
        if (totalSteps <= 0) {
            throw new IllegalArgumentException("total steps must be > 0, got " + totalSteps);
        }
        if (warmupSteps > totalSteps) {
            throw new IllegalArgumentException("warmup steps (" + warmupSteps + ") exceed total steps (" + totalSteps + ")");
        }
    }
}
