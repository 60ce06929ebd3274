package org.lorascripts.nn;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.CudaKernel;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * A frozen weight stored as float8 e4m3 (1 byte per value; kohya's {@code fp8_base}), with one float32 scale per
 * output channel: {@code W ≈ values · scale}, {@code scale = max|W[o]| / 448} (448 is e4m3's largest value), so each
 * channel spans e4m3's range instead of losing its small weights to the format's floor, as a plain cast does. The
 * dense weight is made in {@code dtype} (the weight's own, the compute dtype) for one product at a time
 * ({@link FrozenProduct}) and dropped. On CUDA that is one kernel ({@link #DEQUANT_SOURCE}), once it has given the
 * composition's bits on the first weight loaded there; elsewhere a cast and a multiply.
 */
public record Fp8Weight(Tensor values, Tensor scale, DType dtype) {
    /** e4m3's largest finite value. */
    public static final double MAX = 448.0;

    /** Quantises {@code w} (out, ...) per output channel; new tensors kept past the caller's scope, made dense in w's dtype. */
    public static Fp8Weight quantize(Tensor w, String what) {
        DType.F8E4M3.requireAvailable(what);
        long[] shape = w.shape();
        long[] rest = new long[shape.length - 1];
        for (int i = 1; i < shape.length; i++) rest[i - 1] = i;
        try (Scope s = Scope.open()) {
            Tensor f = w.to(DType.F32);
            Tensor scale = f.abs().amax(rest, true).div(MAX).clampMin(Float.MIN_NORMAL);   // an all-zero channel keeps zeros
            Tensor values = f.div(scale).clamp(-MAX, MAX).to(DType.F8E4M3);
            Fp8Weight q = new Fp8Weight(values.keep(), scale.keep(), w.dtype());
            q.checkKernel(w.dtype());
            return q;
        }
    }

    /** Loads {@code prefix.weight} of {@code shape} as fp8, owned by {@code w}; the dense copy is freed at once. */
    static Fp8Weight load(Weights w, long... shape) {
        Fp8Weight q;
        try (Scope s = Scope.open()) {
            q = quantize(w.take("weight", shape), "fp8_base (" + w.path("weight") + ")");
        }
        for (Tensor t : q.tensors()) w.own(t);
        return q;
    }

    /** The dense weight in {@code dtype} (a new tensor in the current scope). */
    public Tensor dense() { return dense(dtype); }

    /**
     * The dense weight in {@code dt} (a new tensor in the current scope): {@code values.to(dt) * scale} with the
     * product in float32 rounded once to {@code dt}. On CUDA one kernel reads each byte once and writes the result
     * (3 bytes of memory traffic per value in 16-bit, against 7 for the cast and the in-place multiply); the same
     * roundings, so the same bits.
     */
    public Tensor dense(DType dt) {
        return FusedOps.passedCheck("fp8_dequant", values.device(), dt) && values.isContiguous() ? kernelDense(dt) : plainDense(dt);
    }

    /** The kernel's dense copy (CUDA, after {@link #checkKernel}). */
    private Tensor kernelDense(DType dt) {
        Device d = values.device();
        CudaKernel k = FusedOps.kernel(DEQUANT_SOURCE, "fp8_dequant", dt);
        try (var ng = Autograd.noGrad()) {
            Tensor out = Torch.empty(values.shape(), dt, d);
            long n = values.numel(), rows = values.size(0);
            k.launch(d, new long[] {CudaKernel.blocks((n + 3) / 4, 256), 1, 1}, new long[] {256, 1, 1}, 0,
                    values, lut(d), scale, out, n, n / rows);
            return out;
        }
    }

    /** Whether the kernel serves {@link #dense(DType)} on {@code d} for {@code dt} (for tests). */
    static boolean kernelServes(Device d, DType dt) { return FusedOps.passedCheck("fp8_dequant", d, dt); }

    /**
     * The first time a weight is quantised on a CUDA device for {@code dt} (at load time, never inside a captured
     * step), the kernel's dense copy of its first rows is compared with the composition's, bit for bit; the kernel
     * serves {@link #dense(DType)} only where they agree, else one line says so and the composition serves.
     */
    private void checkKernel(DType dt) {
        Device d = values.device();
        if (d.type() != Device.Type.CUDA || !values.isContiguous()) return;
        FusedOps.checkedOnce("fp8_dequant", d, dt, () -> {
            CudaKernel k = FusedOps.kernel(DEQUANT_SOURCE, "fp8_dequant", dt);
            if (k == null || !k.usable(d)) return false;
            try (Scope s = Scope.open(); var ng = Autograd.noGrad()) {
                long rows = Math.min(values.size(0), 64);
                Fp8Weight head = new Fp8Weight(values.narrow(0, 0, rows), scale.narrow(0, 0, rows), dt);
                double diff = head.kernelDense(dt).to(DType.F32).sub(head.plainDense(dt).to(DType.F32)).abs().amax().item();
                if (diff == 0.0) return true;
                System.err.println("lora: the fused fp8 dequantisation differs from libtorch's on " + d + " (" + dt
                        + ", max difference " + diff + "); using the plain libtorch path");
                return false;
            }
        });
    }

    /** {@link #dense(DType)} as libtorch ops (what the kernel is tested against). */
    public Tensor plainDense(DType dt) { return values.to(dt).mul_(scale); }

    private static final Map<Device, Tensor> LUTS = new ConcurrentHashMap<>();

    /** The 256 e4m3fn codes as float32 (on {@code d}): what the kernel reads instead of decoding bits. */
    private static Tensor lut(Device d) {
        return LUTS.computeIfAbsent(d, dev -> {
            try (var ng = Autograd.noGrad()) {
                return Torch.of(e4m3Values()).to(dev).keep();
            }
        });
    }

    /**
     * Every e4m3fn byte's value (float8_e4m3fn, the format PyTorch and kohya use): sign, 4 exponent bits with bias 7, 3
     * mantissa bits, subnormals at exponent 0, no infinities, NaN at {@code S.1111.111}. Exact in float32.
     */
    static float[] e4m3Values() {
        float[] v = new float[256];
        for (int b = 0; b < 256; b++) {
            int e = (b >> 3) & 0xF, m = b & 7;
            float mag = e == 15 && m == 7 ? Float.NaN
                    : e == 0 ? m * 0x1p-9f
                    : (1 + m / 8f) * (float) Math.scalb(1.0, e - 7);
            v[b] = (b & 0x80) != 0 ? -mag : mag;
        }
        return v;
    }

    /**
     * {@link #dense(DType)} on CUDA: a thread per four values; value {@code i} of row {@code i / cols} is
     * {@code lut[byte] * scale[row]}, one float32 multiply (no fused multiply-add) rounded to T, as the composition.
     */
    static final String DEQUANT_SOURCE = FusedOps.PRELUDE + """
            extern "C" __global__ void fp8_dequant(const unsigned char* v, const float* lut, const float* scale, T* out,
                                                   long n, long cols) {
              long q = blockIdx.x * (long)blockDim.x + threadIdx.x;
              long i = 4 * q;
              if (i >= n) return;
              // four codes per thread as byte loads (a warp still reads whole contiguous lines); the earlier form, a
              // 4-byte load behind a pointer-to-integer alignment test, failed to compile with NVRTC 13 ("invalid type
              // conversion") and so never served
              #pragma unroll
              for (long j = i; j < i + 4; j++) if (j < n) out[j] = st(__fmul_rn(lut[v[j]], scale[j / cols]));
            }
            """;

    public long[] shape() { return values.shape(); }

    /** Bytes held: one per value plus the scales. */
    public long bytes() { return bytes(shape()); }

    /** Bytes of a weight of {@code shape} as fp8: one per value plus a float32 scale per output channel. */
    public static long bytes(long[] shape) {
        long n = 1;
        for (long d : shape) n *= d;
        return n + 4 * shape[0];
    }

    public List<Tensor> tensors() { return List.of(values, scale); }
}
