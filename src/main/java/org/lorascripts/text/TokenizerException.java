package org.lorascripts.text;

/** A tokenizer folder that cannot be used (missing or malformed file, unknown special token); one-line message. */
public final class TokenizerException extends RuntimeException {
    public TokenizerException(String message) {
        super(message, null, false, false);
    }

    public TokenizerException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
