package org.lorascripts.ffi;

import static org.lorascripts.ffi.Native.ADDR;
import static org.lorascripts.ffi.Native.I32;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/** Bindings of native/ls_cuda.cpp, which exists only in CUDA builds of the shim; every entry is optional. */
public final class CudaApi {
    private CudaApi() {}

    private static final Optional<MethodHandle> SYNC = Native.optionalFn("ls_cuda_synchronize", I32);
    private static final Optional<MethodHandle> MEMORY = Native.optionalFn("ls_cuda_memory", I32, ADDR, ADDR, ADDR);
    private static final Optional<MethodHandle> RESET_PEAK = Native.optionalFn("ls_cuda_reset_peak", I32);
    private static final Optional<MethodHandle> EMPTY_CACHE = Native.optionalFn("ls_cuda_empty_cache");
    private static final Optional<MethodHandle> DEVICE_INFO = Native.optionalFn("ls_cuda_device_info", I32, ADDR, I32, ADDR, ADDR, ADDR);

    private static final Optional<MethodHandle> CURRENT_STREAM = Native.optionalFn("ls_cuda_current_stream", I32, ADDR);
    private static final Optional<MethodHandle> INIT_CONTEXT = Native.optionalFn("ls_cuda_init_context", I32);
    private static final Optional<MethodHandle> GRAPH_CAPTURE = Native.optionalFn("ls_cuda_graph_capture", I32, ADDR, Native.I64, I32, Native.I64, Native.I64, ADDR);
    private static final Optional<MethodHandle> GRAPH_POOL = Native.optionalFn("ls_cuda_graph_pool", ADDR, ADDR);
    private static final Optional<MethodHandle> GRAPH_REPLAY = Native.optionalFn("ls_cuda_graph_replay", ADDR);
    private static final Optional<MethodHandle> GRAPH_FREE = Native.optionalFn("ls_cuda_graph_free", ADDR);

    public static boolean graphsAvailable() { return GRAPH_CAPTURE.isPresent(); }

    /** A new memory pool id for graphs that share memory: {first, second}. */
    public static long[] graphPool() {
        Scratch s = Scratch.get();
        try { Status.check((int) GRAPH_POOL.get().invokeExact(s.outSlot(0), s.outSlot(1))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return new long[] {s.outLong(0), s.outLong(1)};
    }

    /**
     * Captures the upcall {@code body(id)} as a CUDA graph after {@code warmup} plain runs, in the
     * memory pool {@code pool} ({0, 0}: its own); returns the graph.
     */
    public static MemorySegment graphCapture(int device, MemorySegment body, long id, int warmup, long[] pool) {
        if (GRAPH_CAPTURE.isEmpty()) throw new NativeUnavailableException("this build of the native layer has no CUDA graphs (CUDA helpers not built)", null);
        Scratch s = Scratch.get();
        try { Status.check((int) GRAPH_CAPTURE.get().invokeExact(device, body, id, warmup, pool[0], pool[1], s.outSlot(0))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return MemorySegment.ofAddress(s.outLong(0));
    }

    public static void graphReplay(MemorySegment graph) {
        try { Status.check((int) GRAPH_REPLAY.get().invokeExact(graph)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void graphFree(MemorySegment graph) {
        try { Status.check((int) GRAPH_FREE.get().invokeExact(graph)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** The device's current CUDA stream (libtorch's), as a driver-API stream handle. */
    public static MemorySegment currentStream(int device) {
        if (CURRENT_STREAM.isEmpty()) throw new NativeUnavailableException("this build of the native layer has no CUDA helpers", null);
        Scratch s = Scratch.get();
        try { Status.check((int) CURRENT_STREAM.get().invokeExact(device, s.outSlot(0))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return MemorySegment.ofAddress(s.outLong(0));
    }

    /** Makes the device's primary context current on this thread. */
    public static void initContext(int device) {
        if (INIT_CONTEXT.isEmpty()) throw new NativeUnavailableException("this build of the native layer has no CUDA helpers", null);
        try { Status.check((int) INIT_CONTEXT.get().invokeExact(device)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Whether kernels compiled at run time can be launched on libtorch's streams (the CUDA helpers are built). */
    public static boolean streamsAvailable() { return CURRENT_STREAM.isPresent() && INIT_CONTEXT.isPresent(); }

    public static boolean helpersAvailable() { return MEMORY.isPresent(); }

    public static void synchronize(int device) {
        if (SYNC.isEmpty()) return;
        try { Status.check((int) SYNC.get().invokeExact(device)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** {allocated, reserved, peak allocated} bytes, or empty without the CUDA helpers. */
    public static Optional<long[]> memory(int device) {
        if (MEMORY.isEmpty()) return Optional.empty();
        Scratch s = Scratch.get();
        try { Status.check((int) MEMORY.get().invokeExact(device, s.outSlot(0), s.outSlot(1), s.outSlot(2))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Optional.of(new long[] {s.outLong(0), s.outLong(1), s.outLong(2)});
    }

    public static void resetPeak(int device) {
        if (RESET_PEAK.isEmpty()) return;
        try { Status.check((int) RESET_PEAK.get().invokeExact(device)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void emptyCache() {
        if (EMPTY_CACHE.isEmpty()) return;
        try { Status.check((int) EMPTY_CACHE.get().invokeExact()); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public record DeviceInfo(String name, long totalMemory, int major, int minor) {}

    public static Optional<DeviceInfo> deviceInfo(int device) {
        if (DEVICE_INFO.isEmpty()) return Optional.empty();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment name = a.allocate(256);
            MemorySegment mem = a.allocate(ValueLayout.JAVA_LONG);
            MemorySegment maj = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment min = a.allocate(ValueLayout.JAVA_INT);
            Status.check((int) DEVICE_INFO.get().invokeExact(device, name, 256, mem, maj, min));
            return Optional.of(new DeviceInfo(name.getString(0), mem.get(ValueLayout.JAVA_LONG, 0),
                    maj.get(ValueLayout.JAVA_INT, 0), min.get(ValueLayout.JAVA_INT, 0)));
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }
}
