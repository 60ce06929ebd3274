package org.lorascripts.ffi;

import static org.lorascripts.ffi.Native.ADDR;
import static org.lorascripts.ffi.Native.I32;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/** Bindings of native/ls_profile.cpp: libtorch's profiler, written as a Chrome trace. */
public final class ProfilerApi {
    private ProfilerApi() {}

    private static final Optional<MethodHandle> START = Native.optionalFn("ls_profiler_start", I32);
    private static final Optional<MethodHandle> STOP = Native.optionalFn("ls_profiler_stop", ADDR, ADDR);
    private static final Optional<MethodHandle> START_MEMORY = Native.optionalFn("ls_profiler_start_memory", I32);
    private static final Optional<MethodHandle> STOP_MEMORY = Native.optionalFn("ls_profiler_stop_memory", ADDR, ADDR, ADDR);

    public static boolean available() { return START.isPresent() && STOP.isPresent(); }

    public static void start(boolean cuda) {
        if (START.isEmpty()) throw new NativeUnavailableException("this build of the native layer has no profiler (ls_profiler_start)", null);
        try { Status.check((int) START.get().invokeExact(cuda ? 1 : 0)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Whether this build records allocations and frees too (profile_memory). */
    public static boolean memoryAvailable() { return START_MEMORY.isPresent() && STOP_MEMORY.isPresent(); }

    /** As {@link #start}, also recording every allocation and free. */
    public static void startWithMemory(boolean cuda) {
        if (START_MEMORY.isEmpty()) throw new NativeUnavailableException("this build of the native layer has no memory profiler (ls_profiler_start_memory)", null);
        try { Status.check((int) START_MEMORY.get().invokeExact(cuda ? 1 : 0)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** As {@link #stop}, also writing the allocations and frees to {@code memory} (not null). */
    public static void stopWithMemory(String events, String trace, String memory) {
        if (STOP_MEMORY.isEmpty()) throw new NativeUnavailableException("this build of the native layer has no memory profiler (ls_profiler_stop_memory)", null);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = events == null ? MemorySegment.NULL : a.allocateFrom(events);
            MemorySegment t = trace == null ? MemorySegment.NULL : a.allocateFrom(trace);
            MemorySegment m = a.allocateFrom(memory);
            Status.check((int) STOP_MEMORY.get().invokeExact(e, t, m));
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Stops recording; writes the event table and the Chrome trace to the paths that are not null. */
    public static void stop(String events, String trace) {
        if (STOP.isEmpty()) throw new NativeUnavailableException("this build of the native layer has no profiler (ls_profiler_stop)", null);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment e = events == null ? MemorySegment.NULL : a.allocateFrom(events);
            MemorySegment t = trace == null ? MemorySegment.NULL : a.allocateFrom(trace);
            Status.check((int) STOP.get().invokeExact(e, t));
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }
}
