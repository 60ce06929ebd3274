package org.lorascripts.label;

/**
 * A problem the user can fix (missing folder, bad model folder, malformed metadata.csv). The message is
 * one line naming the file and what to do; the CLI prints it without a stack trace.
 */
public final class LabelException extends RuntimeException {
    public LabelException(String message) {
        super(message);
    }

    public LabelException(String message, Throwable cause) {
        super(message, cause);
    }
}
