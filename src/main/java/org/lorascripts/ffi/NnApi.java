package org.lorascripts.ffi;

import static org.lorascripts.ffi.Native.ADDR;
import static org.lorascripts.ffi.Native.F64;
import static org.lorascripts.ffi.Native.I32;
import static org.lorascripts.ffi.Native.I64;
import static org.lorascripts.ffi.Native.PTR;
import static org.lorascripts.ffi.Native.fn;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** Bindings of native/ls_nn.cpp. A null tensor argument (optional weight, bias, mask) is handle 0. */
public final class NnApi {
    private NnApi() {}

    private static final MethodHandle CONV2D = fn("ls_conv2d", PTR, PTR, PTR, ADDR, ADDR, ADDR, I64, ADDR);
    private static final MethodHandle CONV_TRANSPOSE2D = fn("ls_conv_transpose2d", PTR, PTR, ADDR, ADDR, ADDR, ADDR, I64, ADDR);
    private static final MethodHandle GROUP_NORM = fn("ls_group_norm", PTR, I64, PTR, PTR, F64, ADDR);
    private static final MethodHandle LAYER_NORM = fn("ls_layer_norm", PTR, ADDR, I32, PTR, PTR, F64, ADDR);
    private static final MethodHandle RMS_NORM = fn("ls_rms_norm", PTR, PTR, F64, ADDR);
    private static final MethodHandle SOFTMAX = fn("ls_softmax", PTR, I64, I32, ADDR);
    private static final MethodHandle LOG_SOFTMAX = fn("ls_log_softmax", PTR, I64, I32, ADDR);
    private static final MethodHandle HAS_NATIVE_SDPA = fn("ls_has_native_sdpa", ADDR);
    private static final MethodHandle SDPA = fn("ls_sdpa", PTR, PTR, PTR, PTR, F64, I32, F64, I32, ADDR);
    private static final MethodHandle HAS_SDPA_GQA = fn("ls_has_sdpa_gqa", ADDR);
    private static final MethodHandle SDPA_GQA = fn("ls_sdpa_gqa", PTR, PTR, PTR, F64, I32, F64, ADDR);
    private static final MethodHandle INTERPOLATE = fn("ls_interpolate", PTR, I32, I64, I64, F64, F64, I32, I32, ADDR);
    private static final MethodHandle AVG_POOL2D = fn("ls_avg_pool2d", PTR, I64, I64, ADDR);
    private static final MethodHandle PAD = fn("ls_pad", PTR, ADDR, I32, F64, ADDR);
    private static final MethodHandle EMBEDDING = fn("ls_embedding", PTR, PTR, I64, ADDR);
    private static final MethodHandle CROSS_ENTROPY = fn("ls_cross_entropy", PTR, PTR, PTR, I32, I64, F64, ADDR);
    private static final MethodHandle MSE_LOSS = fn("ls_mse_loss", PTR, PTR, I32, ADDR);
    private static final MethodHandle DROPOUT = fn("ls_dropout", PTR, F64, I32, ADDR);
    private static final MethodHandle DROPOUT_MASK = fn("ls_dropout_mask", PTR, F64, ADDR, ADDR);

    public static long conv2d(long x, long w, long b, long[] stride, long[] padding, long[] dilation, long groups) {
        Scratch s = Scratch.get();
        MemorySegment arr = s.longs(new long[] {stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1]});
        try {
            Status.check((int) CONV2D.invokeExact(x, w, b, arr, arr.asSlice(16), arr.asSlice(32), groups, s.out));
        } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long convTranspose2d(long x, long w, long[] stride, long[] padding, long[] outputPadding, long[] dilation, long groups) {
        Scratch s = Scratch.get();
        MemorySegment arr = s.longs(new long[] {stride[0], stride[1], padding[0], padding[1], outputPadding[0], outputPadding[1],
                dilation[0], dilation[1]});
        try {
            Status.check((int) CONV_TRANSPOSE2D.invokeExact(x, w, arr, arr.asSlice(16), arr.asSlice(32), arr.asSlice(48), groups, s.out));
        } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long groupNorm(long x, long groups, long w, long b, double eps) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) GROUP_NORM.invokeExact(x, groups, w, b, eps, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long layerNorm(long x, long[] shape, long w, long b, double eps) {
        Scratch s = Scratch.get();
        try { Status.check((int) LAYER_NORM.invokeExact(x, s.longs(shape), shape.length, w, b, eps, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long rmsNorm(long x, long w, double eps) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) RMS_NORM.invokeExact(x, w, eps, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long softmax(long x, long dim, int dtype) { return softmaxLike(SOFTMAX, x, dim, dtype); }
    public static long logSoftmax(long x, long dim, int dtype) { return softmaxLike(LOG_SOFTMAX, x, dim, dtype); }

    private static long softmaxLike(MethodHandle mh, long x, long dim, int dtype) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(x, dim, dtype, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static boolean hasNativeSdpa() { return Invoke.int_(HAS_NATIVE_SDPA) != 0; }

    public static long sdpa(long q, long k, long v, long mask, double dropout, boolean causal, double scale, boolean useNative) {
        MemorySegment out = Scratch.get().out;
        try {
            Status.check((int) SDPA.invokeExact(q, k, v, mask, dropout, causal ? 1 : 0, scale, useNative ? 1 : 0, out));
        } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static boolean hasSdpaGqa() { return Invoke.int_(HAS_SDPA_GQA) != 0; }

    public static long sdpaGqa(long q, long k, long v, double dropout, boolean causal, double scale) {
        MemorySegment out = Scratch.get().out;
        try {
            Status.check((int) SDPA_GQA.invokeExact(q, k, v, dropout, causal ? 1 : 0, scale, out));
        } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long interpolate(long x, int mode, long h, long w, double sh, double sw, boolean alignCorners, boolean antialias) {
        MemorySegment out = Scratch.get().out;
        try {
            Status.check((int) INTERPOLATE.invokeExact(x, mode, h, w, sh, sw, alignCorners ? 1 : 0, antialias ? 1 : 0, out));
        } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long avgPool2d(long x, long kernel, long stride) { return Invoke.toH_hll(AVG_POOL2D, x, kernel, stride); }

    public static long pad(long x, long[] pads, double value) {
        Scratch s = Scratch.get();
        try { Status.check((int) PAD.invokeExact(x, s.longs(pads), pads.length, value, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long embedding(long w, long idx, long paddingIdx) { return Invoke.toH_hhl(EMBEDDING, w, idx, paddingIdx); }

    public static long crossEntropy(long logits, long target, long weight, int reduction, long ignoreIndex, double smoothing) {
        MemorySegment out = Scratch.get().out;
        try {
            Status.check((int) CROSS_ENTROPY.invokeExact(logits, target, weight, reduction, ignoreIndex, smoothing, out));
        } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long mseLoss(long a, long b, int reduction) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) MSE_LOSS.invokeExact(a, b, reduction, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long dropout(long x, double p, boolean train) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) DROPOUT.invokeExact(x, p, train ? 1 : 0, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    /** {training dropout's output, its keep mask as bool}. */
    public static long[] dropoutWithMask(long x, double p) {
        Scratch s = Scratch.get();
        try { Status.check((int) DROPOUT_MASK.invokeExact(x, p, s.outSlot(0), s.outSlot(1))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return new long[] {s.outHandle(0), s.outHandle(1)};
    }
}
