package org.lorascripts.io;

import java.io.IOException;

/** Malformed JSON. {@link #offset()} is the 0-based UTF-8 byte offset where parsing stopped. */
public final class JsonParseException extends IOException {
    private final long offset;

    public JsonParseException(String message, long offset) {
        super(message);
        this.offset = offset;
    }

    public long offset() { return offset; }
}
