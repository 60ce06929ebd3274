package org.lorascripts.ffi;

/** libtorch or the native shim is missing or did not build; the message says how to fix it. */
public class NativeUnavailableException extends RuntimeException {
    public NativeUnavailableException(String message, Throwable cause) { super(message, cause); }
}
