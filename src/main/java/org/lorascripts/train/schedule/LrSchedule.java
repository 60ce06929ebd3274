package org.lorascripts.train.schedule;

/**
 * Learning rate as a function of the optimizer step.
 *
 * <p>{@code step} counts optimizer steps from 0: {@code lr(0)} is the rate used by the first
 * optimizer step, {@code lr(1)} by the second, and so on. This matches a PyTorch {@code LambdaLR}
 * that is stepped after each {@code optimizer.step()}, which is how HF transformers and kohya
 * sd-scripts drive {@code get_scheduler}: with warmup, the very first update uses lr 0.
 */
@FunctionalInterface
public interface LrSchedule {
    double lr(long step);
}
