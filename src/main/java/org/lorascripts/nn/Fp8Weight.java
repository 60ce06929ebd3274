package org.lorascripts.nn;

import java.util.List;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * A frozen weight stored as float8 e4m3 (1 byte per value; kohya's {@code fp8_base}), with one float32 scale per
 * output channel: {@code W ≈ values · scale}, {@code scale = max|W[o]| / 448} (448 is e4m3's largest value), so each
 * channel spans e4m3's range instead of losing its small weights to the format's floor, as a plain cast does. The
 * dense weight is made in the compute dtype for one product at a time ({@link FrozenProduct}) and dropped.
 */
public record Fp8Weight(Tensor values, Tensor scale, long[] shape) {
    /** e4m3's largest finite value. */
    public static final double MAX = 448.0;

    /** Quantises {@code w} (out, ...) per output channel; new tensors kept past the caller's scope. */
    public static Fp8Weight quantize(Tensor w, String what) {
        DType.F8E4M3.requireAvailable(what);
        long[] shape = w.shape();
        long[] rest = new long[shape.length - 1];
        for (int i = 1; i < shape.length; i++) rest[i - 1] = i;
        try (Scope s = Scope.open()) {
            Tensor f = w.to(DType.F32);
            Tensor scale = f.abs().amax(rest, true).div(MAX).clampMin(Float.MIN_NORMAL);   // an all-zero channel keeps zeros
            Tensor values = f.div(scale).clamp(-MAX, MAX).to(DType.F8E4M3);
            return new Fp8Weight(values.keep(), scale.keep(), shape.clone());
        }
    }

    /** The dense weight in {@code dtype} (a new tensor in the current scope). */
    public Tensor dense(DType dtype) { return values.to(dtype).mul_(scale); }

    /** Bytes held: one per value plus the scales. */
    public long bytes() { return values.numel() + 4L * scale.numel(); }

    public List<Tensor> tensors() { return List.of(values, scale); }
}
