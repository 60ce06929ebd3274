package org.lorascripts.label;

import org.lorascripts.data.DatasetException;

/**
 * A problem the user can fix (missing folder, bad model folder, malformed metadata.csv). The message is
 * one line naming the file and what to do; the CLI prints it without a stack trace.
 */
public final class LabelException extends DatasetException {
    public LabelException(String message) {
        super(message, null);
    }

    public LabelException(String message, Throwable cause) {
        super(message, cause);
    }
}
