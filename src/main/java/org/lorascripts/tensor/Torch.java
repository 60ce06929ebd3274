package org.lorascripts.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.lorascripts.ffi.AutogradApi;
import org.lorascripts.ffi.MathApi;
import org.lorascripts.ffi.TensorApi;

/** Tensor creation and multi-tensor functions, in the spirit of the {@code torch.*} namespace. */
public final class Torch {
    private Torch() {}

    public static Tensor empty(long[] shape, DType dt, Device d) { return Tensor.wrap(TensorApi.empty(shape, dt.code, d.type().code, d.index())); }
    public static Tensor zeros(long[] shape, DType dt, Device d) { return Tensor.wrap(TensorApi.zeros(shape, dt.code, d.type().code, d.index())); }
    public static Tensor ones(long[] shape, DType dt, Device d) { return Tensor.wrap(TensorApi.ones(shape, dt.code, d.type().code, d.index())); }
    public static Tensor full(long[] shape, double value, DType dt, Device d) { return Tensor.wrap(TensorApi.full(shape, value, dt.code, d.type().code, d.index())); }
    /** Standard normal samples from the device's default generator. */
    public static Tensor randn(long[] shape, DType dt, Device d) { return Tensor.wrap(TensorApi.randn(shape, dt.code, d.type().code, d.index())); }
    /** Uniform samples in [0, 1). */
    public static Tensor rand(long[] shape, DType dt, Device d) { return Tensor.wrap(TensorApi.rand(shape, dt.code, d.type().code, d.index())); }
    /** Integers uniform in [low, high). */
    public static Tensor randint(long low, long high, long[] shape, Device d) { return Tensor.wrap(TensorApi.randint(low, high, shape, DType.I64.code, d.type().code, d.index())); }
    public static Tensor randperm(long n, Device d) { return Tensor.wrap(TensorApi.randperm(n, DType.I64.code, d.type().code, d.index())); }
    public static Tensor arange(double start, double end, double step, DType dt, Device d) { return Tensor.wrap(TensorApi.arange(start, end, step, dt.code, d.type().code, d.index())); }
    public static Tensor arange(long end) { return arange(0, end, 1, DType.I64, Device.CPU); }
    public static Tensor linspace(double start, double end, long steps, DType dt, Device d) { return Tensor.wrap(TensorApi.linspace(start, end, steps, dt.code, d.type().code, d.index())); }

    // f32 on the CPU, the common case in tests and small setup code
    public static Tensor zeros(long... shape) { return zeros(shape, DType.F32, Device.CPU); }
    public static Tensor ones(long... shape) { return ones(shape, DType.F32, Device.CPU); }
    public static Tensor randn(long... shape) { return randn(shape, DType.F32, Device.CPU); }

    public static Tensor of(float[] data, long... shape) { return fromArray(MemorySegment.ofArray(data), ValueLayout.JAVA_FLOAT, data.length, DType.F32, shapeOr(shape, data.length)); }
    public static Tensor of(double[] data, long... shape) { return fromArray(MemorySegment.ofArray(data), ValueLayout.JAVA_DOUBLE, data.length, DType.F64, shapeOr(shape, data.length)); }
    public static Tensor of(long[] data, long... shape) { return fromArray(MemorySegment.ofArray(data), ValueLayout.JAVA_LONG, data.length, DType.I64, shapeOr(shape, data.length)); }
    public static Tensor of(int[] data, long... shape) { return fromArray(MemorySegment.ofArray(data), ValueLayout.JAVA_INT, data.length, DType.I32, shapeOr(shape, data.length)); }
    public static Tensor ofBytes(byte[] data, long... shape) { return fromArray(MemorySegment.ofArray(data), ValueLayout.JAVA_BYTE, data.length, DType.U8, shapeOr(shape, data.length)); }

    public static Tensor of(boolean[] data, long... shape) {
        byte[] b = new byte[data.length];
        for (int i = 0; i < data.length; i++) b[i] = (byte) (data[i] ? 1 : 0);
        return fromArray(MemorySegment.ofArray(b), ValueLayout.JAVA_BYTE, b.length, DType.BOOL, shapeOr(shape, b.length));
    }

    /** A 0-dim f32 tensor. */
    public static Tensor scalar(double v) { return full(new long[0], v, DType.F32, Device.CPU); }

    private static long[] shapeOr(long[] shape, long n) { return shape.length == 0 ? new long[] {n} : shape; }

    private static Tensor fromArray(MemorySegment heap, ValueLayout layout, long count, DType dt, long[] shape) {
        long bytes = count * layout.byteSize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment native_ = a.allocate(Math.max(bytes, 1), 8);
            MemorySegment.copy(heap, 0, native_, 0, bytes);
            return Tensor.wrap(TensorApi.fromHost(native_, bytes, shape, dt.code));
        }
    }

    /** Copies raw little-endian bytes (e.g. a safetensors slice) into a new CPU tensor. */
    public static Tensor fromSegment(MemorySegment data, DType dt, long... shape) {
        if (!data.isNative()) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment copy = a.allocate(Math.max(data.byteSize(), 1), 8);
                MemorySegment.copy(data, 0, copy, 0, data.byteSize());
                return Tensor.wrap(TensorApi.fromHost(copy, data.byteSize(), shape, dt.code));
            }
        }
        return Tensor.wrap(TensorApi.fromHost(data, data.byteSize(), shape, dt.code));
    }

    /**
     * Wraps native memory without copying. The memory must stay valid and unmodified while the tensor
     * (and anything viewing it) lives; use for read-only memory-mapped weights.
     */
    public static Tensor wrapSegment(MemorySegment data, DType dt, long... shape) {
        long n = 1;
        for (long s : shape) n = Math.multiplyExact(n, s);
        if (n * dt.byteSize != data.byteSize()) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes does not hold " + n + " " + dt.displayName() + " values");
        }
        return Tensor.wrap(TensorApi.fromHostNoCopy(data, shape, dt.code));
    }

    public static Tensor cat(List<Tensor> ts, long dim) { return Tensor.wrap(TensorApi.cat(handles(ts), dim)); }
    public static Tensor stack(List<Tensor> ts, long dim) { return Tensor.wrap(TensorApi.stack(handles(ts), dim)); }
    public static Tensor where(Tensor cond, Tensor a, Tensor b) { return Tensor.wrap(TensorApi.where(cond.handle(), a.handle(), b.handle())); }
    public static Tensor einsum(String equation, Tensor... ts) { return Tensor.wrap(MathApi.einsum(equation, handles(List.of(ts)))); }
    public static Tensor outer(Tensor a, Tensor b) { return Tensor.wrap(MathApi.outer(a.handle(), b.handle())); }

    /** L2 norm of each tensor (one fused multi-tensor kernel on CUDA). */
    public static List<Tensor> norms(List<Tensor> ts) { return Tensor.wrapAll(AutogradApi.foreachNorm(handles(ts), 2)); }

    static long[] handles(List<Tensor> ts) {
        long[] hs = new long[ts.size()];
        for (int i = 0; i < hs.length; i++) hs[i] = ts.get(i).handle();
        return hs;
    }

    /** The libtorch version the native shim runs against. */
    public static String libtorchVersion() { return TensorApi.torchVersion(); }
}
