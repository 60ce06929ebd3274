package org.lorascripts.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.lorascripts.ffi.AutogradApi;
import org.lorascripts.ffi.MathApi;
import org.lorascripts.ffi.MathApi.Binary;
import org.lorascripts.ffi.MathApi.Unary;
import org.lorascripts.ffi.NnApi;
import org.lorascripts.ffi.TensorApi;

/**
 * A handle to one libtorch tensor. Created inside a {@link Scope} it is freed with the scope; created
 * outside, the caller closes it (a Cleaner frees forgotten ones as a last resort). Using a tensor
 * after close is an {@link IllegalStateException}, never a crash. Not thread-safe, except close.
 * Static factories are in {@link Torch}, NN functions in {@link Functional}.
 */
public final class Tensor implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final AtomicLong LIVE = new AtomicLong();
    private static final boolean TRACK = Boolean.getBoolean("lora.trackTensors");
    private static final Map<Freer, Throwable> SITES = new ConcurrentHashMap<>();

    /** Owns the native handle; separate from the Tensor so a Cleaner action never reaches the Tensor. */
    static final class Freer implements Runnable {
        private static final VarHandle HANDLE;
        static {
            try {
                HANDLE = MethodHandles.lookup().findVarHandle(Freer.class, "handle", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
        @SuppressWarnings("unused") private volatile long handle;

        Freer(long h) { handle = h; }

        long get() { return handle; }

        @Override public void run() {
            long h = (long) HANDLE.getAndSet(this, 0L);
            if (h != 0) {
                LIVE.decrementAndGet();
                if (TRACK) SITES.remove(this);
                TensorApi.free(h);
            }
        }
    }

    private final Freer freer;
    private Scope owner;
    private Cleaner.Cleanable cleanable;
    private Rebuild rebuild;

    private Tensor(long h) {
        this.freer = new Freer(h);
        LIVE.incrementAndGet();
        if (TRACK) SITES.put(freer, new Throwable("tensor created here"));
        Scope s = Scope.current();
        if (s != null) {
            owner = s;
            s.adopt(this);
        } else {
            registerCleaner();
        }
    }

    /** Takes ownership of a native handle; null for handle 0 (e.g. an absent gradient). */
    public static Tensor wrap(long handle) { return handle == 0 ? null : new Tensor(handle); }

    static List<Tensor> wrapAll(long[] hs) {
        List<Tensor> r = new ArrayList<>(hs.length);
        for (long h : hs) r.add(wrap(h));
        return r;
    }

    /** Native tensors alive in this process (all threads). */
    public static long liveCount() { return LIVE.get(); }

    /** Creation sites of live tensors when run with -Dlora.trackTensors=true (empty otherwise). */
    public static List<Throwable> liveCreationSites() { return new ArrayList<>(SITES.values()); }

    /** The native handle; throws when closed. */
    public long handle() {
        long h = freer.get();
        if (h == 0) throw new IllegalStateException("tensor used after close");
        return h;
    }

    static long handleOrZero(Tensor t) { return t == null ? 0 : t.handle(); }

    public boolean isClosed() { return freer.get() == 0; }

    /**
     * How this tensor's value can be made again from tensors that backward keeps anyway ({@link Rebuild}), or null.
     * Only this Java object carries it: a view, copy or detached alias does not.
     */
    public Rebuild rebuild() { return rebuild; }

    /**
     * Marks this tensor as rebuildable by {@code r} (see {@link #rebuild()}); returns this. With
     * {@code LORA_REBUILD=0} no tensor carries a recipe (readers save their input as before), to measure what they give.
     */
    public Tensor rebuildableBy(Rebuild r) {
        if (!Rebuild.OFF) rebuild = r;
        return this;
    }

    Scope owner() { return owner; }

    void setOwner(Scope s) { owner = s; }

    void registerCleaner() {
        if (cleanable == null) cleanable = CLEANER.register(this, freer);
    }

    void freeFromScope() {
        owner = null;
        freer.run();
    }

    /** Detaches this tensor from its scope: the caller now owns it and must close it. */
    public Tensor keep() {
        if (owner != null) {
            owner = null;
            registerCleaner();
        }
        return this;
    }

    @Override public void close() {
        owner = null;
        if (cleanable != null) cleanable.clean(); else freer.run();
    }

    // ---- metadata ----
    public long[] shape() { return TensorApi.sizes(handle()); }
    public long size(int dim) { long[] s = shape(); return s[dim < 0 ? s.length + dim : dim]; }
    public long[] strides() { return TensorApi.strides(handle()); }
    public int dim() { return TensorApi.dim(handle()); }
    public long numel() { return TensorApi.numel(handle()); }
    public DType dtype() { return DType.fromCode(TensorApi.scalarType(handle())); }
    public Device device() { int[] d = TensorApi.deviceOf(handle()); return Device.fromCodes(d[0], d[1]); }
    public boolean isContiguous() { return TensorApi.isContiguous(handle()); }

    @Override public String toString() {
        if (isClosed()) return "Tensor(closed)";
        return "Tensor(" + Arrays.toString(shape()) + ", " + dtype().displayName() + ", " + device() + ")";
    }

    // ---- conversion and copies ----
    public Tensor to(DType dt) { return wrap(TensorApi.toDType(handle(), dt.code)); }
    public Tensor to(Device d) { return to(dtype(), d); }
    public Tensor to(DType dt, Device d) { return wrap(TensorApi.to(handle(), dt.code, d.type().code, d.index(), false, false)); }
    public Tensor to(DType dt, Device d, boolean nonBlocking) { return wrap(TensorApi.to(handle(), dt.code, d.type().code, d.index(), nonBlocking, false)); }
    public Tensor contiguous() { return wrap(TensorApi.contiguous(handle())); }
    public Tensor copy() { return wrap(TensorApi.clone(handle())); }
    /** Another handle to the same tensor (shares storage and autograd identity). */
    public Tensor alias() { return wrap(TensorApi.shallowCopy(handle())); }
    public Tensor copy_(Tensor src) { TensorApi.copy_(handle(), src.handle()); return this; }
    public Tensor fill_(double v) { TensorApi.fill_(handle(), v); return this; }
    public Tensor zero_() { TensorApi.zero_(handle()); return this; }
    public Tensor normal_(double mean, double std) { TensorApi.normal_(handle(), mean, std); return this; }
    public Tensor uniform_(double from, double to) { TensorApi.uniform_(handle(), from, to); return this; }

    // ---- views and shape ----
    public Tensor view(long... dims) { return wrap(TensorApi.view(handle(), dims)); }
    public Tensor reshape(long... dims) { return wrap(TensorApi.reshape(handle(), dims)); }
    public Tensor permute(long... dims) { return wrap(TensorApi.permute(handle(), dims)); }
    public Tensor expand(long... dims) { return wrap(TensorApi.expand(handle(), dims)); }
    public Tensor repeat(long... dims) { return wrap(TensorApi.repeat(handle(), dims)); }
    public Tensor flip(long... dims) { return wrap(TensorApi.flip(handle(), dims)); }
    public Tensor transpose(long d0, long d1) { return wrap(TensorApi.transpose(handle(), d0, d1)); }
    /** Transpose of the last two dims. */
    public Tensor mT() { return transpose(-2, -1); }
    public Tensor narrow(long dim, long start, long length) { return wrap(TensorApi.narrow(handle(), dim, start, length)); }
    public Tensor slice(long dim, long start, long end) { return wrap(TensorApi.slice(handle(), dim, start, end, 1)); }
    public Tensor slice(long dim, long start, long end, long step) { return wrap(TensorApi.slice(handle(), dim, start, end, step)); }
    public Tensor select(long dim, long index) { return wrap(TensorApi.select(handle(), dim, index)); }
    public Tensor squeeze(long dim) { return wrap(TensorApi.squeeze(handle(), dim)); }
    public Tensor unsqueeze(long dim) { return wrap(TensorApi.unsqueeze(handle(), dim)); }
    public Tensor flatten(long start, long end) { return wrap(TensorApi.flatten(handle(), start, end)); }
    public Tensor flatten() { return flatten(0, -1); }
    public Tensor tril(long diag) { return wrap(TensorApi.tril(handle(), diag)); }
    public Tensor triu(long diag) { return wrap(TensorApi.triu(handle(), diag)); }
    public List<Tensor> chunk(int chunks, long dim) { return wrapAll(TensorApi.chunk(handle(), chunks, dim)); }
    public List<Tensor> split(long[] sizes, long dim) { return wrapAll(TensorApi.splitSizes(handle(), sizes, dim)); }

    // ---- indexing ----
    public Tensor indexSelect(long dim, Tensor index) { return wrap(TensorApi.indexSelect(handle(), dim, index.handle())); }
    public Tensor gather(long dim, Tensor index) { return wrap(TensorApi.gather(handle(), dim, index.handle())); }
    /** {@code t[index]} with a bool mask or an int64 index tensor on dim 0. */
    public Tensor index(Tensor index) { return wrap(TensorApi.index(handle(), index.handle())); }
    public Tensor maskedFill(Tensor mask, double v) { return wrap(TensorApi.maskedFill(handle(), mask.handle(), v)); }
    public Tensor indexPut_(Tensor index, Tensor values, boolean accumulate) { TensorApi.indexPut_(handle(), index.handle(), values.handle(), accumulate); return this; }

    // ---- elementwise ----
    private Tensor un(Unary op) { return wrap(MathApi.unary(op, handle())); }
    private Tensor bin(Binary op, Tensor o) { return wrap(MathApi.binary(op, handle(), o.handle())); }
    private Tensor bin(Binary op, double s) { return wrap(MathApi.binaryScalar(op, handle(), s)); }

    public Tensor add(Tensor o) { return bin(Binary.ADD, o); }
    public Tensor add(Tensor o, double alpha) { return wrap(MathApi.addScaled(handle(), o.handle(), alpha)); }
    public Tensor add(double s) { return bin(Binary.ADD, s); }
    public Tensor sub(Tensor o) { return bin(Binary.SUB, o); }
    public Tensor sub(double s) { return bin(Binary.SUB, s); }
    /** {@code s - this}. */
    public Tensor rsub(double s) { return bin(Binary.RSUB, s); }
    public Tensor mul(Tensor o) { return bin(Binary.MUL, o); }
    public Tensor mul(double s) { return bin(Binary.MUL, s); }
    public Tensor div(Tensor o) { return bin(Binary.DIV, o); }
    public Tensor div(double s) { return bin(Binary.DIV, s); }
    public Tensor pow(Tensor o) { return bin(Binary.POW, o); }
    public Tensor pow(double s) { return bin(Binary.POW, s); }
    public Tensor remainder(double s) { return bin(Binary.REMAINDER, s); }
    public Tensor floorDivide(Tensor o) { return bin(Binary.FLOOR_DIV, o); }
    public Tensor maximum(Tensor o) { return bin(Binary.MAXIMUM, o); }
    public Tensor minimum(Tensor o) { return bin(Binary.MINIMUM, o); }
    public Tensor atan2(Tensor o) { return bin(Binary.ATAN2, o); }
    public Tensor clamp(double lo, double hi) { return wrap(MathApi.clamp(handle(), lo, hi, true, true)); }
    public Tensor clampMin(double lo) { return wrap(MathApi.clamp(handle(), lo, 0, true, false)); }
    public Tensor clampMax(double hi) { return wrap(MathApi.clamp(handle(), 0, hi, false, true)); }
    public Tensor eq(Tensor o) { return bin(Binary.EQ, o); }
    public Tensor eq(double s) { return bin(Binary.EQ, s); }
    public Tensor ne(Tensor o) { return bin(Binary.NE, o); }
    public Tensor ne(double s) { return bin(Binary.NE, s); }
    public Tensor lt(Tensor o) { return bin(Binary.LT, o); }
    public Tensor lt(double s) { return bin(Binary.LT, s); }
    public Tensor le(Tensor o) { return bin(Binary.LE, o); }
    public Tensor le(double s) { return bin(Binary.LE, s); }
    public Tensor gt(Tensor o) { return bin(Binary.GT, o); }
    public Tensor gt(double s) { return bin(Binary.GT, s); }
    public Tensor ge(Tensor o) { return bin(Binary.GE, o); }
    public Tensor ge(double s) { return bin(Binary.GE, s); }
    public Tensor logicalAnd(Tensor o) { return bin(Binary.LOGICAL_AND, o); }
    public Tensor logicalOr(Tensor o) { return bin(Binary.LOGICAL_OR, o); }
    public Tensor logicalNot() { return un(Unary.LOGICAL_NOT); }
    public Tensor neg() { return un(Unary.NEG); }
    public Tensor abs() { return un(Unary.ABS); }
    public Tensor exp() { return un(Unary.EXP); }
    public Tensor log() { return un(Unary.LOG); }
    public Tensor log1p() { return un(Unary.LOG1P); }
    public Tensor expm1() { return un(Unary.EXPM1); }
    public Tensor sqrt() { return un(Unary.SQRT); }
    public Tensor rsqrt() { return un(Unary.RSQRT); }
    public Tensor sin() { return un(Unary.SIN); }
    public Tensor cos() { return un(Unary.COS); }
    public Tensor tanh() { return un(Unary.TANH); }
    public Tensor sigmoid() { return un(Unary.SIGMOID); }
    public Tensor relu() { return un(Unary.RELU); }
    public Tensor silu() { return un(Unary.SILU); }
    /** Exact (erf) GELU. */
    public Tensor gelu() { return un(Unary.GELU); }
    /** GELU with the tanh approximation. */
    public Tensor geluTanh() { return un(Unary.GELU_TANH); }
    public Tensor softplus() { return un(Unary.SOFTPLUS); }
    public Tensor erf() { return un(Unary.ERF); }
    public Tensor reciprocal() { return un(Unary.RECIPROCAL); }
    public Tensor square() { return un(Unary.SQUARE); }
    public Tensor floor() { return un(Unary.FLOOR); }
    public Tensor ceil() { return un(Unary.CEIL); }
    public Tensor round() { return un(Unary.ROUND); }
    public Tensor sign() { return un(Unary.SIGN); }
    public Tensor isnan() { return un(Unary.ISNAN); }
    public Tensor isinf() { return un(Unary.ISINF); }
    public Tensor isfinite() { return un(Unary.ISFINITE); }

    // ---- in place ----
    public Tensor add_(Tensor o) { MathApi.binary_(Binary.ADD, handle(), o.handle()); return this; }
    public Tensor add_(Tensor o, double alpha) { MathApi.addScaled_(handle(), o.handle(), alpha); return this; }
    public Tensor add_(double s) { MathApi.binaryScalar_(Binary.ADD, handle(), s); return this; }
    public Tensor sub_(Tensor o) { MathApi.binary_(Binary.SUB, handle(), o.handle()); return this; }
    public Tensor mul_(Tensor o) { MathApi.binary_(Binary.MUL, handle(), o.handle()); return this; }
    public Tensor mul_(double s) { MathApi.binaryScalar_(Binary.MUL, handle(), s); return this; }
    public Tensor div_(Tensor o) { MathApi.binary_(Binary.DIV, handle(), o.handle()); return this; }
    public Tensor div_(double s) { MathApi.binaryScalar_(Binary.DIV, handle(), s); return this; }
    public Tensor clampMin_(double lo) { MathApi.binaryScalar_(Binary.MAXIMUM, handle(), lo); return this; }
    public Tensor sqrt_() { MathApi.unary_(Unary.SQRT, handle()); return this; }
    public Tensor neg_() { MathApi.unary_(Unary.NEG, handle()); return this; }
    public Tensor exp_() { MathApi.unary_(Unary.EXP, handle()); return this; }
    /** this += value * a * b */
    public Tensor addcmul_(Tensor a, Tensor b, double value) { MathApi.addcmul_(handle(), a.handle(), b.handle(), value); return this; }
    /** this += value * a / b */
    public Tensor addcdiv_(Tensor a, Tensor b, double value) { MathApi.addcdiv_(handle(), a.handle(), b.handle(), value); return this; }
    /** this += weight * (end - this) */
    public Tensor lerp_(Tensor end, double weight) { MathApi.lerp_(handle(), end.handle(), weight); return this; }

    // ---- reductions ----
    private static final long[] ALL = new long[0];
    public Tensor sum() { return wrap(MathApi.sum(handle(), ALL, false, -1)); }
    public Tensor sum(long[] dims, boolean keepDim) { return wrap(MathApi.sum(handle(), dims, keepDim, -1)); }
    public Tensor sum(long dim) { return sum(new long[] {dim}, false); }
    public Tensor sum(DType accumulate) { return wrap(MathApi.sum(handle(), ALL, false, accumulate.code)); }
    public Tensor mean() { return wrap(MathApi.mean(handle(), ALL, false)); }
    public Tensor mean(long[] dims, boolean keepDim) { return wrap(MathApi.mean(handle(), dims, keepDim)); }
    public Tensor mean(long dim) { return mean(new long[] {dim}, false); }
    public Tensor var(long[] dims, boolean unbiased, boolean keepDim) { return wrap(MathApi.var(handle(), dims, unbiased, keepDim)); }
    public Tensor amax() { return wrap(MathApi.amax(handle(), ALL, false)); }
    public Tensor amax(long[] dims, boolean keepDim) { return wrap(MathApi.amax(handle(), dims, keepDim)); }
    public Tensor amin() { return wrap(MathApi.amin(handle(), ALL, false)); }
    public Tensor amin(long[] dims, boolean keepDim) { return wrap(MathApi.amin(handle(), dims, keepDim)); }
    public Tensor logsumexp(long[] dims, boolean keepDim) { return wrap(MathApi.logsumexp(handle(), dims, keepDim)); }
    public Tensor norm() { return wrap(MathApi.norm(handle(), 2, ALL, false)); }
    public Tensor norm(double p, long[] dims, boolean keepDim) { return wrap(MathApi.norm(handle(), p, dims, keepDim)); }
    public Tensor argmax(long dim, boolean keepDim) { return wrap(MathApi.argmax(handle(), dim, keepDim)); }
    public Tensor argmin(long dim, boolean keepDim) { return wrap(MathApi.argmin(handle(), dim, keepDim)); }
    public Tensor all() { return wrap(MathApi.all(handle())); }
    public Tensor any() { return wrap(MathApi.any(handle())); }
    /**
     * torch.bucketize: for each element x the index i (int64) into the sorted 1-D {@code boundaries}
     * with boundaries[i-1] < x <= boundaries[i] (right=false) or boundaries[i-1] <= x < boundaries[i]
     * (right=true); values past the last boundary get boundaries.numel().
     */
    public Tensor bucketize(Tensor boundaries, boolean right) { return wrap(MathApi.bucketize(handle(), boundaries.handle(), right)); }
    public Tensor cumsum(long dim) { return wrap(MathApi.cumsum(handle(), dim)); }

    /** Values and indices of a reduction or selection along a dim. */
    public record Indexed(Tensor values, Tensor indices) {}

    public Indexed max(long dim, boolean keepDim) { long[] r = MathApi.maxDim(handle(), dim, keepDim); return new Indexed(wrap(r[0]), wrap(r[1])); }
    public Indexed topk(long k, long dim, boolean largest, boolean sorted) { long[] r = MathApi.topk(handle(), k, dim, largest, sorted); return new Indexed(wrap(r[0]), wrap(r[1])); }
    public Indexed sort(long dim, boolean descending) { long[] r = MathApi.sort(handle(), dim, descending); return new Indexed(wrap(r[0]), wrap(r[1])); }
    public Tensor multinomial(long n, boolean replacement) { return wrap(MathApi.multinomial(handle(), n, replacement)); }

    // ---- products ----
    public Tensor matmul(Tensor o) { return wrap(MathApi.matmul(handle(), o.handle())); }
    public Tensor mm(Tensor o) { return wrap(MathApi.mm(handle(), o.handle())); }
    public Tensor bmm(Tensor o) { return wrap(MathApi.bmm(handle(), o.handle())); }

    /** The thin SVD {@code this = u @ diag(s) @ vh} of a matrix (or a batch), s descending. */
    public record Svd(Tensor u, Tensor s, Tensor vh) {}

    /** {@code torch.linalg.svd(this, full_matrices=False)}: u (m, k), s (k), vh (k, n) with k = min(m, n). */
    public Svd svd() { long[] r = MathApi.linalgSvd(handle()); return new Svd(wrap(r[0]), wrap(r[1]), wrap(r[2])); }
    public Tensor softmax(long dim) { return wrap(NnApi.softmax(handle(), dim, -1)); }
    public Tensor logSoftmax(long dim) { return wrap(NnApi.logSoftmax(handle(), dim, -1)); }

    // ---- autograd ----
    public Tensor requiresGrad_(boolean on) { AutogradApi.requiresGrad_(handle(), on); return this; }
    public boolean requiresGrad() { return AutogradApi.requiresGrad(handle()); }
    public boolean isLeaf() { return AutogradApi.isLeaf(handle()); }
    /** The accumulated gradient, or null; a new handle each call (close or scope it). */
    public Tensor grad() { return wrap(AutogradApi.grad(handle())); }
    public void setGrad(Tensor g) { AutogradApi.setGrad(handle(), handleOrZero(g)); }
    /** Drops the gradient (as PyTorch's zero_grad(set_to_none=True)). */
    public void zeroGrad() { AutogradApi.setGrad(handle(), 0); }
    public Tensor detach() { return wrap(AutogradApi.detach(handle())); }
    public Tensor detach_() { AutogradApi.detach_(handle()); return this; }
    public void backward() { AutogradApi.backward(handle(), 0, false); }
    public void backward(Tensor grad, boolean retainGraph) { AutogradApi.backward(handle(), handleOrZero(grad), retainGraph); }

    // ---- values back to Java ----
    public double item() { return TensorApi.itemDouble(handle()); }
    public long itemLong() { return TensorApi.itemLong(handle()); }

    public float[] toFloatArray() { return (float[]) toArray(DType.F32, ValueLayout.JAVA_FLOAT); }
    public double[] toDoubleArray() { return (double[]) toArray(DType.F64, ValueLayout.JAVA_DOUBLE); }
    public long[] toLongArray() { return (long[]) toArray(DType.I64, ValueLayout.JAVA_LONG); }
    public int[] toIntArray() { return (int[]) toArray(DType.I32, ValueLayout.JAVA_INT); }
    public byte[] toByteArray() { return (byte[]) toArray(dtype() == DType.I8 ? DType.I8 : DType.U8, ValueLayout.JAVA_BYTE); }

    public boolean[] toBooleanArray() {
        byte[] b = (byte[]) toArray(DType.BOOL, ValueLayout.JAVA_BYTE);
        boolean[] r = new boolean[b.length];
        for (int i = 0; i < b.length; i++) r[i] = b[i] != 0;
        return r;
    }

    /** Copies the raw bytes (contiguous, on the CPU, in this tensor's dtype) into {@code dst}. */
    public void copyTo(MemorySegment dst) { TensorApi.toHost(handle(), dst, numel() * dtype().byteSize); }

    private Object toArray(DType dt, ValueLayout layout) {
        long n = numel();
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor of " + n + " elements is too large for a Java array");
        long h = handle();
        boolean convert = dtype() != dt;
        long src = convert ? TensorApi.toDType(h, dt.code) : h;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(Math.max(1, n * dt.byteSize), 8);
            TensorApi.toHost(src, seg, n * dt.byteSize);
            return switch (layout) {
                case ValueLayout.OfFloat f -> seg.asSlice(0, n * 4).toArray(f);
                case ValueLayout.OfDouble d -> seg.asSlice(0, n * 8).toArray(d);
                case ValueLayout.OfLong l -> seg.asSlice(0, n * 8).toArray(l);
                case ValueLayout.OfInt i -> seg.asSlice(0, n * 4).toArray(i);
                case ValueLayout.OfByte b -> seg.asSlice(0, n).toArray(b);
                default -> throw new IllegalArgumentException("unsupported layout " + layout);
            };
        } finally {
            if (convert) TensorApi.free(src);
        }
    }
}
