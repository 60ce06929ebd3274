package org.lorascripts.data;

/** A problem with the training data (missing folder, no images, bad metadata.csv); one-line message. */
public final class DatasetException extends RuntimeException {
    public DatasetException(String message) {
        super(message, null, false, false);
    }
}
