package org.lorascripts.ffi;

/** A failure in the native layer that is not an argument error (an internal error, a failed callback). */
public class NativeException extends RuntimeException {
    public NativeException(String message, Throwable cause) { super(message, cause); }
}
