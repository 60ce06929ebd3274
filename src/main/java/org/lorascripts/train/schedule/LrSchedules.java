package org.lorascripts.train.schedule;

import java.util.List;

/**
 * Builds a schedule by the names HF transformers' {@code get_scheduler} (and kohya sd-scripts'
 * {@code --lr_scheduler}) accept. As there, {@code numCycles} applies only to
 * {@code cosine_with_restarts} (plain {@code cosine} uses HF's 0.5, one half-wave), {@code power} only
 * to {@code polynomial} (with {@code lr_end = 1e-7}), and {@code constant} ignores warmup.
 */
public final class LrSchedules {
    public static final List<String> NAMES = List.of(
            "constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial");

    private LrSchedules() {}

    public static LrSchedule create(String name, double baseLr, long warmupSteps, long totalSteps,
                                    int numCycles, double power) {
        return switch (name) {
            case "constant" -> new ConstantSchedule(baseLr);
            case "constant_with_warmup" -> new ConstantWithWarmupSchedule(baseLr, warmupSteps);
            case "linear" -> new LinearSchedule(baseLr, warmupSteps, totalSteps);
            case "cosine" -> new CosineSchedule(baseLr, warmupSteps, totalSteps, CosineSchedule.DEFAULT_NUM_CYCLES);
            case "cosine_with_restarts" -> new CosineWithRestartsSchedule(baseLr, warmupSteps, totalSteps, numCycles);
            case "polynomial" -> new PolynomialSchedule(baseLr, warmupSteps, totalSteps,
                    PolynomialSchedule.DEFAULT_LR_END, power);
            default -> throw new IllegalArgumentException(
                    "unknown lr scheduler '" + name + "'; valid names: " + String.join(", ", NAMES));
        };
    }
}
