package org.lorascripts.train;

/**
 * A training problem the user can act on (output folder not writable, disk full during a save, a
 * checkpoint that does not fit the config). The message is one line naming the file or key, the
 * cause and what to do; the CLI prints it without a stack trace.
 */
public final class TrainingException extends RuntimeException {
    public TrainingException(String message) {
        super(message, null, false, false);
    }

    public TrainingException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
