package org.lorascripts.data;

/** A problem with the data (missing folder, no images, bad metadata.csv or caption file); one-line message. */
public class DatasetException extends RuntimeException {
    public DatasetException(String message) {
        super(message, null, false, false);
    }

    protected DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
