package org.lorascripts.nn;

import java.util.Arrays;
import java.util.Optional;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * A weight source that allocates nothing: every tensor asked for is one zero broadcast to the
 * requested shape (all strides 0), so a full-size model can be built to read its names and shapes
 * ({@link Weights#loadedShapes()}) without the memory its weights would take. Not for forward passes.
 */
public final class ShapeOnlyWeights implements WeightSource {
    @Override public Optional<long[]> shape(String name) { return Optional.empty(); }

    @Override public boolean synthesizes() { return true; }

    @Override public Tensor load(String name, long[] shape, Device device, DType dtype) {
        long[] ones = new long[shape.length];
        Arrays.fill(ones, 1);
        try (Tensor one = Torch.zeros(ones, dtype, device)) {
            return one.expand(shape);
        }
    }

    /** The number of elements of every tensor loaded through {@code w}. */
    public static long parameterCount(Weights w) {
        long total = 0;
        for (long[] s : w.loadedShapes().values()) {
            long n = 1;
            for (long d : s) n *= d;
            total += n;
        }
        return total;
    }

    @Override public String describe() { return "shape-only weights"; }
}
