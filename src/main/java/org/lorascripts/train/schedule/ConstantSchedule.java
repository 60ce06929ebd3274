package org.lorascripts.train.schedule;

/** HF {@code get_constant_schedule}: the base rate at every step (get_scheduler ignores warmup for it). */
public record ConstantSchedule(double baseLr) implements LrSchedule {
    public ConstantSchedule {
        LinearWarmup.check(baseLr, 0);
    }

    @Override
    public double lr(long step) {
        return baseLr;
    }
}
