package org.lorascripts.ffi;

/** An error reported by libtorch for a call's arguments (shapes, dtypes, devices); the message is libtorch's. */
public class TorchException extends IllegalArgumentException {
    public TorchException(String message) { super(message); }
}
