package org.lorascripts.ffi;

import static org.lorascripts.ffi.Native.ADDR;
import static org.lorascripts.ffi.Native.F64;
import static org.lorascripts.ffi.Native.I32;
import static org.lorascripts.ffi.Native.I64;
import static org.lorascripts.ffi.Native.PTR;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Bindings of native/ls_dist.cpp (collectives over libtorch's c10d: TCPStore rendezvous, Gloo, NCCL on
 * CUDA builds). That file is compiled only when the gloo headers are found, so every entry is optional:
 * {@link #available()} says whether this shim has them.
 */
public final class DistApi {
    private DistApi() {}

    private static final Optional<MethodHandle> BACKENDS = Native.optionalFn("ls_dist_backends", ADDR);
    private static final Optional<MethodHandle> INIT = Native.optionalFn("ls_dist_init", ADDR, I32, I32, I32, ADDR, I64, ADDR);
    private static final Optional<MethodHandle> ALL_REDUCE = Native.optionalFn("ls_dist_all_reduce", PTR, ADDR, I32, F64, I64);
    private static final Optional<MethodHandle> BROADCAST = Native.optionalFn("ls_dist_broadcast", PTR, ADDR, I32, I32, I64);
    private static final Optional<MethodHandle> BARRIER = Native.optionalFn("ls_dist_barrier", PTR);
    private static final Optional<MethodHandle> DESTROY = Native.optionalFn("ls_dist_destroy", PTR);

    /** Whether this build of the shim has the distributed part (c10d with Gloo). */
    public static boolean available() { return INIT.isPresent(); }

    /** Whether the NCCL backend was built too (CUDA libtorch with NCCL headers). */
    public static boolean ncclAvailable() {
        if (BACKENDS.isEmpty()) return false;
        Scratch s = Scratch.get();
        try { Status.check((int) BACKENDS.get().invokeExact(s.outSlot(0))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return (s.outInt(0) & 2) != 0;
    }

    private static MethodHandle need(Optional<MethodHandle> h) {
        return h.orElseThrow(() -> new NativeUnavailableException("this build of the native shim has no distributed"
                + " training (c10d): install gloo's headers ('apt-get install libgloo-dev'), then run again so the shim is rebuilt", null));
    }

    /** Joins a group (rank 0 serves the TCP store on host:port); returns the group's handle. */
    public static long init(String host, int port, int rank, int size, String backend, long timeoutMillis) {
        MethodHandle h = need(INIT);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG);
            Status.check((int) h.invokeExact(a.allocateFrom(host), port, rank, size, a.allocateFrom(backend), timeoutMillis, out));
            return out.get(ValueLayout.JAVA_LONG, 0);
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Sums the tensors over all ranks in place, then multiplies them by {@code scale}. */
    public static void allReduce(long group, long[] tensors, double scale, long bucketBytes) {
        MethodHandle h = need(ALL_REDUCE);
        MemorySegment list = handles(tensors);
        try { Status.check((int) h.invokeExact(group, list, tensors.length, scale, bucketBytes)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Copies rank {@code root}'s tensors into every rank's, in place. */
    public static void broadcast(long group, long[] tensors, int root, long bucketBytes) {
        MethodHandle h = need(BROADCAST);
        MemorySegment list = handles(tensors);
        try { Status.check((int) h.invokeExact(group, list, tensors.length, root, bucketBytes)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void barrier(long group) {
        MethodHandle h = need(BARRIER);
        try { Status.check((int) h.invokeExact(group)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void destroy(long group) {
        MethodHandle h = need(DESTROY);
        try { Status.check((int) h.invokeExact(group)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    private static MemorySegment handles(long[] tensors) {
        MemorySegment list = Scratch.get().handles(tensors.length);
        MemorySegment.copy(tensors, 0, list, ValueLayout.JAVA_LONG, 0, tensors.length);
        return list;
    }
}
