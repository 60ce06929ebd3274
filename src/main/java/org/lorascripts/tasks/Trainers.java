package org.lorascripts.tasks;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.lorascripts.config.TaskType;
import org.lorascripts.tasks.sd.SdLoraTask;
import org.lorascripts.train.LoopTrainer;
import org.lorascripts.train.Trainer;

/**
 * The trainers this build has, by task. A plain static registry (no ServiceLoader): a trainer
 * is added by one {@code register} line in {@link #registerBuiltins()} (or by a test). When
 * none is registered for a task, {@code ./lora train} says so and exits with code 3.
 */
public final class Trainers {
    private static final Map<TaskType, Supplier<? extends Trainer>> REGISTRY = new ConcurrentHashMap<>();

    static {
        registerBuiltins();
    }

    private Trainers() {}

    /** The trainers shipped in this build; add yours here, e.g. {@code register(IMAGE_GENERATION, SdLoraTrainer::new)}. */
    private static void registerBuiltins() {
        register(TaskType.IMAGE_GENERATION, () -> new LoopTrainer(SdLoraTask::new));
        register(TaskType.TEXT_GENERATION, () -> new LoopTrainer(org.lorascripts.tasks.llm.LlmLoraTask::new));
    }

    public static void register(TaskType task, Supplier<? extends Trainer> factory) {
        REGISTRY.put(task, factory);
    }

    /** Back to the built-in trainers only (tests that registered or removed one restore this way). */
    public static void reset() {
        REGISTRY.clear();
        registerBuiltins();
    }

    public static void unregister(TaskType task) {
        REGISTRY.remove(task);
    }

    public static Optional<Trainer> forTask(TaskType task) {
        return Optional.ofNullable(REGISTRY.get(task)).map(Supplier::get);
    }
}
