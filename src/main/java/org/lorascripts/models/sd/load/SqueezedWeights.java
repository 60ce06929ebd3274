package org.lorascripts.models.sd.load;

import java.util.Arrays;
import java.util.Optional;
import java.util.function.Predicate;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/**
 * Presents (out, in, 1, 1) convolution weights (or (out, in, 1) conv1d ones) as (out, in) matrices for
 * the names a predicate selects: LDM VAEs store the mid-block attention's q/k/v/proj_out as 1x1
 * convolutions where diffusers has linear layers (diffusers' conv_attn_to_linear). Other names, and
 * weights already 2-D, pass through.
 */
final class SqueezedWeights implements WeightSource {
    private final WeightSource inner;
    private final Predicate<String> select;

    SqueezedWeights(WeightSource inner, Predicate<String> select) {
        this.inner = inner;
        this.select = select;
    }

    @Override public Optional<long[]> shape(String name) {
        Optional<long[]> s = inner.shape(name);
        return s.isPresent() && select.test(name) ? Optional.of(squeezed(s.get())) : s;
    }

    @Override public Tensor load(String name, long[] expectedShape, Device device, DType dtype) {
        Optional<long[]> stored = inner.shape(name);
        if (stored.isEmpty() || !select.test(name) || stored.get().length <= 2) return inner.load(name, expectedShape, device, dtype);
        try (Tensor t = inner.load(name, stored.get(), device, dtype); Tensor r = t.reshape(squeezed(stored.get()))) {
            return r.contiguous().keep();
        }
    }

    private static long[] squeezed(long[] s) {
        if (s.length > 2 && Arrays.stream(s, 2, s.length).allMatch(d -> d == 1)) return new long[] {s[0], s[1]};
        return s;
    }

    @Override public String describe() { return inner.describe(); }
}
