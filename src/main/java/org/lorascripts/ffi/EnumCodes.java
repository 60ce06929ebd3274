package org.lorascripts.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Map;

/** Checks at load time that the Java enum codes equal the C++ values they stand for. */
final class EnumCodes {
    private EnumCodes() {}

    static void verify() {
        MethodHandle dtypeCode = Native.fn("ls_dtype_code", Native.ADDR, Native.ADDR);
        MethodHandle deviceCode = Native.fn("ls_device_type_code", Native.ADDR, Native.ADDR);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_INT);
            for (Map.Entry<String, Integer> d : NativeCodes.scalarTypes().entrySet()) {
                check((int) dtypeCode.invokeExact(a.allocateFrom(d.getKey()), out));
                int c = out.get(ValueLayout.JAVA_INT, 0);
                if (c == -1 && NativeCodes.OPTIONAL.contains(d.getKey())) {
                    NativeCodes.markAbsent(d.getKey());
                    continue;
                }
                if (c != d.getValue()) throw new IllegalStateException("dtype " + d.getKey() + " has code " + d.getValue() + " in Java but " + c + " in libtorch");
            }
            for (Map.Entry<String, Integer> t : NativeCodes.deviceTypes().entrySet()) {
                check((int) deviceCode.invokeExact(a.allocateFrom(t.getKey()), out));
                int c = out.get(ValueLayout.JAVA_INT, 0);
                if (c != t.getValue()) throw new IllegalStateException("device type " + t.getKey() + " has code " + t.getValue() + " in Java but " + c + " in libtorch");
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
