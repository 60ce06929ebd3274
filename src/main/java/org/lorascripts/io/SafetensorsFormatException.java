package org.lorascripts.io;

import java.io.IOException;

/** A safetensors file or index that is malformed; the message names the file and the problem. */
public final class SafetensorsFormatException extends IOException {
    public SafetensorsFormatException(String message) {
        super(message);
    }

    public SafetensorsFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
