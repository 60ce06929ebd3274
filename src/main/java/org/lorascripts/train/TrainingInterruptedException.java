package org.lorascripts.train;

/**
 * Thrown by {@link LoopTrainer} after a Ctrl-C stopped the loop cleanly (a checkpoint was saved and
 * the way to resume printed), so the CLI can exit with 130 as shells expect after SIGINT.
 */
public final class TrainingInterruptedException extends RuntimeException {
    public TrainingInterruptedException(String message) {
        super(message, null, false, false);
    }
}
