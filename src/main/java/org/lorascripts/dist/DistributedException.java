package org.lorascripts.dist;

/** A data-parallel job could not start or lost a rank; the message is one line that says what happened and what to do. */
public final class DistributedException extends RuntimeException {
    public DistributedException(String message) { super(message); }

    public DistributedException(String message, Throwable cause) { super(message, cause); }
}
