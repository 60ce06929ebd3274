package org.lorascripts.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** Bytes currently allocated through malloc (glibc's mallinfo2: heap in use plus mmapped blocks). */
final class MemoryProbe {
    private static final StructLayout MALLINFO2 = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("arena"), ValueLayout.JAVA_LONG.withName("ordblks"),
            ValueLayout.JAVA_LONG.withName("smblks"), ValueLayout.JAVA_LONG.withName("hblks"),
            ValueLayout.JAVA_LONG.withName("hblkhd"), ValueLayout.JAVA_LONG.withName("usmblks"),
            ValueLayout.JAVA_LONG.withName("fsmblks"), ValueLayout.JAVA_LONG.withName("uordblks"),
            ValueLayout.JAVA_LONG.withName("fordblks"), ValueLayout.JAVA_LONG.withName("keepcost"));
    private static final MethodHandle FN = Linker.nativeLinker().defaultLookup().find("mallinfo2")
            .map(a -> Linker.nativeLinker().downcallHandle(a, FunctionDescriptor.of(MALLINFO2)))
            .orElseThrow(() -> new IllegalStateException("glibc mallinfo2 not found"));

    private MemoryProbe() {}

    static long allocatedBytes() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment info = (MemorySegment) FN.invokeExact((java.lang.foreign.SegmentAllocator) a);
            return info.get(ValueLayout.JAVA_LONG, 8 * 4) + info.get(ValueLayout.JAVA_LONG, 8 * 7);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
