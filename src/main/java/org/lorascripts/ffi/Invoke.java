package org.lorascripts.ffi;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Callers shared by the binding classes, one per native signature shape. Names spell the shape:
 * h = tensor handle in, l = int64, i = int32, d = double, dims = int64 array + count; the result
 * is the new handle written to the out-pointer ({@code toH*}) or nothing ({@code run*}).
 */
final class Invoke {
    private Invoke() {}

    static long toH_h(MethodHandle mh, long a) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_hh(MethodHandle mh, long a, long b) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, b, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_hhh(MethodHandle mh, long a, long b, long c) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, b, c, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_hdims(MethodHandle mh, long a, long[] dims) {
        Scratch s = Scratch.get();
        try { Status.check((int) mh.invokeExact(a, s.longs(dims), dims.length, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    static long toH_hl(MethodHandle mh, long a, long x) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, x, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_hll(MethodHandle mh, long a, long x, long y) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, x, y, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_hlll(MethodHandle mh, long a, long x, long y, long z) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, x, y, z, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_hlh(MethodHandle mh, long a, long x, long b) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, x, b, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_hhl(MethodHandle mh, long a, long b, long x) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, b, x, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_hd(MethodHandle mh, long a, double x) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, x, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_hi(MethodHandle mh, long a, int x) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, x, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_ih(MethodHandle mh, int op, long a) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(op, a, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_ihh(MethodHandle mh, int op, long a, long b) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(op, a, b, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    static long toH_ihd(MethodHandle mh, int op, long a, double x) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(op, a, x, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    /** Reductions: (t, dims, n, keepdim, out). */
    static long toH_hdimsi(MethodHandle mh, long a, long[] dims, boolean keep) {
        Scratch s = Scratch.get();
        try { Status.check((int) mh.invokeExact(a, s.longs(dims), dims.length, keep ? 1 : 0, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    /** Creation: (dims, n, dtype, devType, devIndex, out). */
    static long toH_create(MethodHandle mh, long[] dims, int dtype, int devType, int devIndex) {
        Scratch s = Scratch.get();
        try { Status.check((int) mh.invokeExact(s.longs(dims), dims.length, dtype, devType, devIndex, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    /** Lists: (handles, n, dim, out). */
    static long toH_list(MethodHandle mh, long[] handles, long dim) {
        Scratch s = Scratch.get();
        MemorySegment hs = s.handles(handles.length);
        MemorySegment.copy(handles, 0, hs, java.lang.foreign.ValueLayout.JAVA_LONG, 0, handles.length);
        try { Status.check((int) mh.invokeExact(hs, handles.length, dim, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    static void run_h(MethodHandle mh, long a) {
        try { Status.check((int) mh.invokeExact(a)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    static void run_hh(MethodHandle mh, long a, long b) {
        try { Status.check((int) mh.invokeExact(a, b)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    static void run_hd(MethodHandle mh, long a, double x) {
        try { Status.check((int) mh.invokeExact(a, x)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    static void run_hdd(MethodHandle mh, long a, double x, double y) {
        try { Status.check((int) mh.invokeExact(a, x, y)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    static void run_ih(MethodHandle mh, int op, long a) {
        try { Status.check((int) mh.invokeExact(op, a)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    static void run_ihh(MethodHandle mh, int op, long a, long b) {
        try { Status.check((int) mh.invokeExact(op, a, b)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    static void run_ihd(MethodHandle mh, int op, long a, double x) {
        try { Status.check((int) mh.invokeExact(op, a, x)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Queries that write one int: (t, out). */
    static int int_h(MethodHandle mh, long a) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outInt(0);
    }

    static long long_h(MethodHandle mh, long a) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outLong(0);
    }

    static int int_(MethodHandle mh) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outInt(0);
    }

    /** Results written as a list of handles: (..., out, cap, nOut); the caller supplies the call. */
    interface ListCall { int call(MemorySegment out, int cap, MemorySegment nOut) throws Throwable; }

    static long[] toHList(int cap, ListCall c) {
        Scratch s = Scratch.get();
        MemorySegment out = s.handles2(cap);
        try { Status.check(c.call(out, cap, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        int n = s.outInt(0);
        long[] r = new long[n];
        MemorySegment.copy(out, java.lang.foreign.ValueLayout.JAVA_LONG, 0, r, 0, n);
        return r;
    }
}
