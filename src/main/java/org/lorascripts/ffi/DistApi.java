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
    private static final Optional<MethodHandle> OVERLAP_ATTACH = Native.optionalFn("ls_dist_overlap_attach", PTR, ADDR, I32, I64, I64, ADDR, ADDR);
    private static final Optional<MethodHandle> OVERLAP_ARM = Native.optionalFn("ls_dist_overlap_arm", PTR);
    private static final Optional<MethodHandle> OVERLAP_FLUSH = Native.optionalFn("ls_dist_overlap_flush", PTR);
    private static final Optional<MethodHandle> OVERLAP_FINISH = Native.optionalFn("ls_dist_overlap_finish", PTR, ADDR, I32, I32);
    private static final Optional<MethodHandle> OVERLAP_STATS = Native.optionalFn("ls_dist_overlap_stats", PTR, ADDR);
    private static final Optional<MethodHandle> OVERLAP_DESTROY = Native.optionalFn("ls_dist_overlap_destroy", PTR);

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

    public static void barrier(long group) { run(BARRIER, group); }

    public static void destroy(long group) { run(DESTROY, group); }

    /** Whether this build of the shim can overlap the gradient sum with backward (gradient accumulator hooks). */
    public static boolean overlapAvailable() { return OVERLAP_ATTACH.isPresent(); }

    /**
     * Hooks the parameters' gradient accumulators for sums that overlap backward (buckets of at most
     * {@code capBytes}, the first at most {@code firstCapBytes}, in reverse parameter order); returns the handle and
     * writes the number of buckets into {@code nBuckets[0]}.
     */
    public static long overlapAttach(long group, long[] params, long capBytes, long firstCapBytes, int[] nBuckets) {
        MethodHandle h = need(OVERLAP_ATTACH);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment list = handles(params);
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG);
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            Status.check((int) h.invokeExact(group, list, params.length, capBytes, firstCapBytes, out, n));
            nBuckets[0] = n.get(ValueLayout.JAVA_INT, 0);
            return out.get(ValueLayout.JAVA_LONG, 0);
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void overlapArm(long overlap) { run(OVERLAP_ARM, overlap); }

    public static void overlapFlush(long overlap) { run(OVERLAP_FLUSH, overlap); }

    /** Waits for the sums and writes them into the gradients of the parameters with {@code used[i] > 0}. */
    public static void overlapFinish(long overlap, double[] used, boolean discard) {
        MethodHandle h = need(OVERLAP_FINISH);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment u = a.allocate(ValueLayout.JAVA_DOUBLE, Math.max(1, used.length));
            MemorySegment.copy(used, 0, u, ValueLayout.JAVA_DOUBLE, 0, used.length);
            Status.check((int) h.invokeExact(overlap, u, used.length, discard ? 1 : 0));
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Buckets, steps armed, buckets launched inside backward, of those before backward's end, after backward, late grads. */
    public static long[] overlapStats(long overlap) {
        MethodHandle h = need(OVERLAP_STATS);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG, 6);
            Status.check((int) h.invokeExact(overlap, out));
            return out.toArray(ValueLayout.JAVA_LONG);
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void overlapDestroy(long overlap) { run(OVERLAP_DESTROY, overlap); }

    /** Calls an export that takes one handle and returns only its status. */
    private static void run(Optional<MethodHandle> fn, long handle) {
        MethodHandle h = need(fn);
        try { Status.check((int) h.invokeExact(handle)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    private static MemorySegment handles(long[] tensors) {
        MemorySegment list = Scratch.get().handles(tensors.length);
        MemorySegment.copy(tensors, 0, list, ValueLayout.JAVA_LONG, 0, tensors.length);
        return list;
    }
}
