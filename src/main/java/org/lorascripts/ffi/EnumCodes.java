package org.lorascripts.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;

/** Checks at load time that the Java enum codes equal the C++ values they stand for. */
final class EnumCodes {
    private EnumCodes() {}

    static void verify() {
        MethodHandle dtypeCode = Native.fn("ls_dtype_code", Native.ADDR, Native.ADDR);
        MethodHandle deviceCode = Native.fn("ls_device_type_code", Native.ADDR, Native.ADDR);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_INT);
            for (DType d : DType.values()) {
                check((int) dtypeCode.invokeExact(a.allocateFrom(d.displayName()), out));
                int c = out.get(ValueLayout.JAVA_INT, 0);
                if (c != d.code) throw new IllegalStateException("dtype " + d + " has code " + d.code + " in Java but " + c + " in libtorch");
            }
            for (Device.Type t : Device.Type.values()) {
                check((int) deviceCode.invokeExact(a.allocateFrom(t.name().toLowerCase()), out));
                int c = out.get(ValueLayout.JAVA_INT, 0);
                if (c != t.code) throw new IllegalStateException("device type " + t + " has code " + t.code + " in Java but " + c + " in libtorch");
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw Calls.rethrow(t);
        }
    }

    private static void check(int rc) {
        if (rc != 0) throw new IllegalStateException("enum check failed with status " + rc);
    }
}
