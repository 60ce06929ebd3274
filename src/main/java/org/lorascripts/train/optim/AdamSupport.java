package org.lorascripts.train.optim;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Tensor;

/**
 * What {@link AdamW} and {@link AdamW8bit} share: the checks of their arguments and of a state dict
 * (keyed {@code <param><suffix>}) being loaded, and the freeing of their per-parameter state.
 */
final class AdamSupport {
    private AdamSupport() {}

    /** Fails unless beta1 and beta2 are in [0, 1) and eps and the weight decay are >= 0. */
    static void checkHyperparameters(double beta1, double beta2, double eps, double weightDecay) {
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        if (!(eps >= 0)) throw new IllegalArgumentException("eps must be >= 0, got " + eps);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
    }

    /** Fails on a parameter name given twice or a parameter that is not float32 ({@code optimizer} names the optimizer). */
    static void checkParams(List<NamedParam> params, String optimizer) {
        Set<String> names = new HashSet<>();
        for (NamedParam p : params) {
            if (!names.add(p.name())) throw new IllegalArgumentException("parameter name '" + p.name() + "' is registered twice");
            DType dt = p.tensor().dtype();
            if (dt != DType.F32) {
                // fp16/bf16 weights would lose small updates to rounding; the optimizer wants fp32 master weights.
                throw new IllegalArgumentException(optimizer + " needs float32 parameters (fp32 master weights); '" + p.name()
                        + "' is " + dt.displayName() + ". Keep an f32 copy for training and cast it for the forward pass.");
            }
        }
    }

    /** The parameter name of {@code key}: the key without the first of {@code suffixes} it ends with; null for none. */
    static String paramNameOf(String key, String... suffixes) {
        for (String suffix : suffixes) {
            if (key.endsWith(suffix) && key.length() > suffix.length()) return key.substring(0, key.length() - suffix.length());
        }
        return null;
    }

    /**
     * Fails on a key that ends with none of {@code suffixes} (naming {@code expected}, the keys this optimizer
     * writes) or that names no registered parameter.
     */
    static void checkKeys(Map<String, Tensor> dict, List<NamedParam> params, String expected, String... suffixes) {
        Set<String> names = new HashSet<>();
        for (NamedParam p : params) names.add(p.name());
        for (String key : dict.keySet()) {
            String name = paramNameOf(key, suffixes);
            if (name == null) {
                throw new IllegalArgumentException("unknown optimizer state key '" + key + "' (expected " + expected + ")");
            }
            if (!names.contains(name)) {
                throw new IllegalArgumentException("optimizer state key '" + key + "' names no parameter of this optimizer ("
                        + params.size() + " registered, e.g. " + (params.isEmpty() ? "none" : "'" + params.get(0).name() + "'") + ")");
            }
        }
    }

    /** {@code dict}'s entry for {@code key}, which parameter {@code param}'s state must have. */
    static Tensor require(Map<String, Tensor> dict, String key, String param) {
        Tensor t = dict.get(key);
        if (t == null) throw new IllegalArgumentException("optimizer state for '" + param + "' is incomplete: '" + key + "' is missing");
        return t;
    }

    /** The step count stored under {@code key}: one value, a whole number >= 0. */
    static double steps(Tensor t, String key) {
        if (t.numel() != 1) {
            throw new IllegalArgumentException("optimizer state '" + key + "' must hold one value, got shape " + Arrays.toString(t.shape()));
        }
        double steps = t.item();
        if (!(steps >= 0) || steps != Math.rint(steps)) {
            throw new IllegalArgumentException("optimizer state '" + key + "' must be a whole number >= 0, got " + steps);
        }
        return steps;
    }

    /** Closes every non-null entry and sets it to null. */
    static <S> void free(S[] state, Consumer<S> closer) {
        for (int i = 0; i < state.length; i++) {
            if (state[i] != null) {
                closer.accept(state[i]);
                state[i] = null;
            }
        }
    }
}
