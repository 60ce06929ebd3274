package org.lorascripts.io;

import java.io.IOException;

/**
 * Malformed JSON. {@link #offset()} is the 0-based UTF-8 byte offset where parsing stopped.
 *
 * @deprecated to be removed once the safetensors/metrics readers move to io.Json; new code uses
 *             {@link Json} and {@link JsonFields}. Kept only for the safetensors header/index readers,
 *             which other changes are editing now.
 */
@Deprecated
public final class JsonParseException extends IOException {
    private final long offset;

    public JsonParseException(String message, long offset) {
        super(message);
        this.offset = offset;
    }

    public long offset() { return offset; }
}
