package org.lorascripts.nn;

import java.util.List;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * A frozen weight stored as float8 e4m3 (1 byte per value; kohya's {@code fp8_base}), with one float32 scale per
 * output channel: {@code W ≈ values · scale}, {@code scale = max|W[o]| / 448} (448 is e4m3's largest value), so each
 * channel spans e4m3's range instead of losing its small weights to the format's floor, as a plain cast does. The
 * dense weight is made in {@code dtype} (the weight's own, the compute dtype) for one product at a time
 * ({@link FrozenProduct}) and dropped.
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
            return new Fp8Weight(values.keep(), scale.keep(), w.dtype());
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

    /** The dense weight in {@code dt} (a new tensor in the current scope). */
    public Tensor dense(DType dt) { return values.to(dt).mul_(scale); }

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
