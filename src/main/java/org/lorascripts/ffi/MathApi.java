package org.lorascripts.ffi;

import static org.lorascripts.ffi.Native.ADDR;
import static org.lorascripts.ffi.Native.F64;
import static org.lorascripts.ffi.Native.I32;
import static org.lorascripts.ffi.Native.I64;
import static org.lorascripts.ffi.Native.PTR;
import static org.lorascripts.ffi.Native.fn;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** Bindings of native/ls_math.cpp: elementwise ops (by code), reductions and products. */
public final class MathApi {
    private MathApi() {}

    /** Unary op codes; must match the switch in ls_math.cpp. */
    public enum Unary {
        NEG(0), ABS(1), EXP(2), LOG(3), SQRT(4), RSQRT(5), SIN(6), COS(7), TANH(8), SIGMOID(9), RELU(10), SILU(11),
        GELU(12), GELU_TANH(13), RECIPROCAL(14), SQUARE(15), FLOOR(16), CEIL(17), ROUND(18), SIGN(19), LOGICAL_NOT(20),
        ISNAN(21), ISINF(22), ISFINITE(23), LOG1P(24), EXPM1(25), ERF(26), SOFTPLUS(27);
        public final int code;
        Unary(int code) { this.code = code; }
    }

    /** Binary op codes (tensor-tensor and tensor-scalar share them); must match ls_math.cpp. */
    public enum Binary {
        ADD(0), SUB(1), MUL(2), DIV(3), POW(4), MAXIMUM(5), MINIMUM(6), EQ(7), NE(8), LT(9), LE(10), GT(11), GE(12),
        LOGICAL_AND(13), LOGICAL_OR(14), REMAINDER(15), ATAN2(16), FLOOR_DIV(17), RSUB(18);
        public final int code;
        Binary(int code) { this.code = code; }
    }

    private static final MethodHandle UNARY = fn("ls_unary", I32, PTR, ADDR);
    private static final MethodHandle UNARY_ = fn("ls_unary_", I32, PTR);
    private static final MethodHandle BINARY = fn("ls_binary", I32, PTR, PTR, ADDR);
    private static final MethodHandle BINARY_ = fn("ls_binary_", I32, PTR, PTR);
    private static final MethodHandle BINARY_SCALAR = fn("ls_binary_scalar", I32, PTR, F64, ADDR);
    private static final MethodHandle BINARY_SCALAR_ = fn("ls_binary_scalar_", I32, PTR, F64);
    private static final MethodHandle ADD_SCALED = fn("ls_add_scaled", PTR, PTR, F64, ADDR);
    private static final MethodHandle ADD_SCALED_ = fn("ls_add_scaled_", PTR, PTR, F64);
    private static final MethodHandle ADDCMUL_ = fn("ls_addcmul_", PTR, PTR, PTR, F64);
    private static final MethodHandle ADDCDIV_ = fn("ls_addcdiv_", PTR, PTR, PTR, F64);
    private static final MethodHandle LERP_ = fn("ls_lerp_", PTR, PTR, F64);
    private static final MethodHandle CLAMP = fn("ls_clamp", PTR, F64, F64, I32, I32, ADDR);
    private static final MethodHandle SUM = fn("ls_sum", PTR, ADDR, I32, I32, I32, ADDR);
    private static final MethodHandle MEAN = fn("ls_mean", PTR, ADDR, I32, I32, ADDR);
    private static final MethodHandle VAR = fn("ls_var", PTR, ADDR, I32, I32, I32, ADDR);
    private static final MethodHandle AMAX = fn("ls_amax", PTR, ADDR, I32, I32, ADDR);
    private static final MethodHandle AMIN = fn("ls_amin", PTR, ADDR, I32, I32, ADDR);
    private static final MethodHandle MAX_DIM = fn("ls_max_dim", PTR, I64, I32, ADDR, ADDR);
    private static final MethodHandle ARGMAX = fn("ls_argmax", PTR, I64, I32, ADDR);
    private static final MethodHandle ARGMIN = fn("ls_argmin", PTR, I64, I32, ADDR);
    private static final MethodHandle LOGSUMEXP = fn("ls_logsumexp", PTR, ADDR, I32, I32, ADDR);
    private static final MethodHandle NORM = fn("ls_norm", PTR, F64, ADDR, I32, I32, ADDR);
    private static final MethodHandle ALL = fn("ls_all", PTR, ADDR);
    private static final MethodHandle ANY = fn("ls_any", PTR, ADDR);
    private static final MethodHandle BUCKETIZE = fn("ls_bucketize", PTR, PTR, I64, ADDR);
    private static final MethodHandle CUMSUM = fn("ls_cumsum", PTR, I64, ADDR);
    private static final MethodHandle TOPK = fn("ls_topk", PTR, I64, I64, I32, I32, ADDR, ADDR);
    private static final MethodHandle SORT = fn("ls_sort", PTR, I64, I32, ADDR, ADDR);
    private static final MethodHandle MULTINOMIAL = fn("ls_multinomial", PTR, I64, I32, ADDR);
    private static final MethodHandle MATMUL = fn("ls_matmul", PTR, PTR, ADDR);
    private static final MethodHandle MM = fn("ls_mm", PTR, PTR, ADDR);
    private static final MethodHandle BMM = fn("ls_bmm", PTR, PTR, ADDR);
    private static final MethodHandle BADDBMM = fn("ls_baddbmm", PTR, PTR, PTR, F64, F64, ADDR);
    private static final MethodHandle ADDMM = fn("ls_addmm", PTR, PTR, PTR, F64, F64, ADDR);
    private static final MethodHandle LINEAR = fn("ls_linear", PTR, PTR, PTR, ADDR);
    private static final MethodHandle EINSUM = fn("ls_einsum", ADDR, ADDR, I32, ADDR);
    private static final MethodHandle OUTER = fn("ls_outer", PTR, PTR, ADDR);
    private static final MethodHandle LINALG_SVD = fn("ls_linalg_svd", PTR, ADDR, ADDR, ADDR);

    public static long unary(Unary op, long a) { return Invoke.toH_ih(UNARY, op.code, a); }
    public static void unary_(Unary op, long a) { Invoke.run_ih(UNARY_, op.code, a); }
    public static long binary(Binary op, long a, long b) { return Invoke.toH_ihh(BINARY, op.code, a, b); }
    public static void binary_(Binary op, long a, long b) { Invoke.run_ihh(BINARY_, op.code, a, b); }
    public static long binaryScalar(Binary op, long a, double s) { return Invoke.toH_ihd(BINARY_SCALAR, op.code, a, s); }
    public static void binaryScalar_(Binary op, long a, double s) { Invoke.run_ihd(BINARY_SCALAR_, op.code, a, s); }

    public static long addScaled(long a, long b, double alpha) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) ADD_SCALED.invokeExact(a, b, alpha, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static void addScaled_(long a, long b, double alpha) {
        try { Status.check((int) ADD_SCALED_.invokeExact(a, b, alpha)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void addcmul_(long a, long b, long c, double v) {
        try { Status.check((int) ADDCMUL_.invokeExact(a, b, c, v)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void addcdiv_(long a, long b, long c, double v) {
        try { Status.check((int) ADDCDIV_.invokeExact(a, b, c, v)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void lerp_(long a, long end, double w) {
        try { Status.check((int) LERP_.invokeExact(a, end, w)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static long clamp(long a, double lo, double hi, boolean hasLo, boolean hasHi) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) CLAMP.invokeExact(a, lo, hi, hasLo ? 1 : 0, hasHi ? 1 : 0, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    /** dtype < 0 keeps the default accumulation type. */
    public static long sum(long a, long[] dims, boolean keep, int dtype) {
        Scratch s = Scratch.get();
        try { Status.check((int) SUM.invokeExact(a, s.longs(dims), dims.length, keep ? 1 : 0, dtype, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long mean(long a, long[] dims, boolean keep) { return Invoke.toH_hdimsi(MEAN, a, dims, keep); }
    public static long amax(long a, long[] dims, boolean keep) { return Invoke.toH_hdimsi(AMAX, a, dims, keep); }
    public static long amin(long a, long[] dims, boolean keep) { return Invoke.toH_hdimsi(AMIN, a, dims, keep); }
    public static long logsumexp(long a, long[] dims, boolean keep) { return Invoke.toH_hdimsi(LOGSUMEXP, a, dims, keep); }

    public static long var(long a, long[] dims, boolean unbiased, boolean keep) {
        Scratch s = Scratch.get();
        try { Status.check((int) VAR.invokeExact(a, s.longs(dims), dims.length, unbiased ? 1 : 0, keep ? 1 : 0, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    public static long norm(long a, double p, long[] dims, boolean keep) {
        Scratch s = Scratch.get();
        try { Status.check((int) NORM.invokeExact(a, p, s.longs(dims), dims.length, keep ? 1 : 0, s.out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }

    /** {values, indices}. */
    public static long[] maxDim(long a, long dim, boolean keep) {
        Scratch s = Scratch.get();
        try { Status.check((int) MAX_DIM.invokeExact(a, dim, keep ? 1 : 0, s.outSlot(0), s.outSlot(1))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return new long[] {s.outHandle(0), s.outHandle(1)};
    }

    public static long argmax(long a, long dim, boolean keep) { return argReduce(ARGMAX, a, dim, keep); }
    public static long argmin(long a, long dim, boolean keep) { return argReduce(ARGMIN, a, dim, keep); }

    private static long argReduce(MethodHandle mh, long a, long dim, boolean keep) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(a, dim, keep ? 1 : 0, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long all(long a) { return Invoke.toH_h(ALL, a); }
    public static long any(long a) { return Invoke.toH_h(ANY, a); }
    public static long bucketize(long a, long boundaries, boolean right) { return Invoke.toH_hhl(BUCKETIZE, a, boundaries, right ? 1 : 0); }
    public static long cumsum(long a, long dim) { return Invoke.toH_hl(CUMSUM, a, dim); }

    /** {values, indices}. */
    public static long[] topk(long a, long k, long dim, boolean largest, boolean sorted) {
        Scratch s = Scratch.get();
        try { Status.check((int) TOPK.invokeExact(a, k, dim, largest ? 1 : 0, sorted ? 1 : 0, s.outSlot(0), s.outSlot(1))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return new long[] {s.outHandle(0), s.outHandle(1)};
    }

    /** {values, indices}. */
    public static long[] sort(long a, long dim, boolean descending) {
        Scratch s = Scratch.get();
        try { Status.check((int) SORT.invokeExact(a, dim, descending ? 1 : 0, s.outSlot(0), s.outSlot(1))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return new long[] {s.outHandle(0), s.outHandle(1)};
    }

    public static long multinomial(long probs, long n, boolean replacement) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) MULTINOMIAL.invokeExact(probs, n, replacement ? 1 : 0, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long matmul(long a, long b) { return Invoke.toH_hh(MATMUL, a, b); }
    public static long mm(long a, long b) { return Invoke.toH_hh(MM, a, b); }
    public static long bmm(long a, long b) { return Invoke.toH_hh(BMM, a, b); }
    public static long outer(long a, long b) { return Invoke.toH_hh(OUTER, a, b); }
    public static long linear(long x, long w, long b) { return Invoke.toH_hhh(LINEAR, x, w, b); }

    /** Thin SVD ({@code torch.linalg.svd(a, full_matrices=False)}): {u, s, vh}. */
    public static long[] linalgSvd(long a) {
        Scratch s = Scratch.get();
        try { Status.check((int) LINALG_SVD.invokeExact(a, s.outSlot(0), s.outSlot(1), s.outSlot(2))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return new long[] {s.outHandle(0), s.outHandle(1), s.outHandle(2)};
    }

    public static long baddbmm(long self, long b1, long b2, double beta, double alpha) { return addProduct(BADDBMM, self, b1, b2, beta, alpha); }
    public static long addmm(long self, long m1, long m2, double beta, double alpha) { return addProduct(ADDMM, self, m1, m2, beta, alpha); }

    private static long addProduct(MethodHandle mh, long self, long a, long b, double beta, double alpha) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) mh.invokeExact(self, a, b, beta, alpha, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static long einsum(String equation, long[] hs) {
        Scratch s = Scratch.get();
        MemorySegment list = s.handles(hs.length);
        MemorySegment.copy(hs, 0, list, java.lang.foreign.ValueLayout.JAVA_LONG, 0, hs.length);
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            Status.check((int) EINSUM.invokeExact(arena.allocateFrom(equation), list, hs.length, s.out));
        } catch (Throwable t) { throw Calls.rethrow(t); }
        return s.outHandle(0);
    }
}
