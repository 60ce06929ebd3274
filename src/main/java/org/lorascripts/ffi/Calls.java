package org.lorascripts.ffi;

import org.lorascripts.ffi.NativeException;

/** Rethrows what a downcall's invokeExact threw, keeping runtime exceptions and errors as they are. */
final class Calls {
    private Calls() {}

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new NativeException("native call failed: " + t, t);
    }
}
