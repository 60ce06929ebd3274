package org.lorascripts.ffi;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.atomic.AtomicReference;
import org.lorascripts.ffi.DeviceOutOfMemoryException;
import org.lorascripts.ffi.NativeException;
import org.lorascripts.ffi.TorchException;

/** Turns the shim's status codes into Java exceptions (codes mirror LsStatus in ls_common.h). */
public final class Status {
    public static final int OK = 0, TORCH = 1, OOM = 2, NATIVE = 3, CALLBACK = 4;

    private static final MethodHandle LAST_ERROR = Native.handle("ls_last_error",
            java.lang.foreign.FunctionDescriptor.of(Native.ADDR));

    /** The Java exception thrown inside the most recent failed upcall (e.g. a checkpointed segment). */
    private static final AtomicReference<Throwable> CALLBACK_FAILURE = new AtomicReference<>();

    private Status() {}

    public static void check(int rc) {
        if (rc != OK) throw failure(rc);
    }

    public static void recordCallbackFailure(Throwable t) { CALLBACK_FAILURE.set(t); }

    static RuntimeException failure(int rc) {
        String msg = lastError();
        return switch (rc) {
            case TORCH -> new TorchException(msg);
            case OOM -> new DeviceOutOfMemoryException(msg);
            case CALLBACK -> {
                Throwable cause = CALLBACK_FAILURE.getAndSet(null);
                if (cause instanceof RuntimeException re) yield re;
                yield new NativeException(msg + (cause != null ? ": " + cause : ""), cause);
            }
            default -> new NativeException(msg, null);
        };
    }

    static String lastError() {
        try {
            MemorySegment p = (MemorySegment) LAST_ERROR.invokeExact();
            String s = p.reinterpret(1 << 20).getString(0);
            return firstLines(s);
        } catch (Throwable t) {
            return "(native error message unavailable: " + t + ")";
        }
    }

    // libtorch messages may carry a C++ backtrace after the first lines; users need the message.
    private static String firstLines(String s) {
        int cut = s.indexOf("\nException raised from");
        if (cut < 0) cut = s.indexOf("\nFrame #");
        return (cut >= 0 ? s.substring(0, cut) : s).strip();
    }
}
