package org.lorascripts.lora;

import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Low-rank decompositions shared by resize, extraction and LoRA merging, in kohya sd-scripts' terms
 * ({@code networks/resize_lora.py}, {@code extract_lora_from_models.py}, {@code svd_merge_lora.py}): a module's
 * delta as a matrix (convolutions flattened to {@code (out, in·kh·kw)}), its SVD, the rank to keep (fixed, or
 * chosen by {@link Dynamic}), and the factors {@code up = U_r·diag(S_r)}, {@code down = Vh_r}.
 */
public final class LowRank {
    private LowRank() {}

    /** kohya's {@code MIN_SV}: a delta whose largest singular value is not above this counts as zero (rank 1). */
    public static final double MIN_SV = 1e-6;

    /** kohya's dynamic rank methods ({@code --dynamic_method}). */
    public enum Dynamic {
        /** keep singular values above {@code S[0] / param}. */
        SV_RATIO("sv_ratio"),
        /** keep until the cumulative sum of S reaches {@code param} of the total. */
        SV_CUMULATIVE("sv_cumulative"),
        /** keep until the retained Frobenius norm reaches {@code param} of the total. */
        SV_FRO("sv_fro");

        public final String cliName;

        Dynamic(String cliName) { this.cliName = cliName; }

        public static Dynamic parse(String s) {
            for (Dynamic d : values()) if (d.cliName.equals(s)) return d;
            throw new IllegalArgumentException("unknown dynamic method '" + s + "'; use sv_ratio, sv_fro or sv_cumulative");
        }
    }

    /**
     * The rank to keep, as kohya's {@code rank_resize}: fixed {@code maxRank}, or {@code index + 1} of the
     * dynamic method (its index clamped to [1, len(S) − 1] first, len(S) = min(out, in) of the full matrix,
     * {@code fullLength}; values past {@code s.length} are zero), then capped at {@code maxRank}; a zero
     * matrix gets rank 1.
     */
    public static int chooseRank(double[] s, int fullLength, int maxRank, Dynamic method, double param) {
        int rank = maxRank;
        if (method != null) {
            int index = switch (method) {
                case SV_RATIO -> {
                    double min = s[0] / param;
                    int count = 0;
                    for (double v : s) if (v > min) count++;
                    yield count;
                }
                case SV_CUMULATIVE -> searchsorted(cumulative(s, false), fullLength, param) + 1;
                case SV_FRO -> searchsorted(cumulative(s, true), fullLength, param * param) + 1;
            };
            index = Math.max(1, Math.min(index, fullLength - 1));
            rank = index + 1;
        }
        if (s.length == 0 || s[0] <= MIN_SV) return 1;
        return Math.min(rank, maxRank);
    }

    /** Normalised cumulative sums of S (or of S², {@code squared}). */
    private static double[] cumulative(double[] s, boolean squared) {
        double[] c = new double[s.length];
        double total = 0;
        for (int i = 0; i < s.length; i++) {
            total += squared ? s[i] * s[i] : s[i];
            c[i] = total;
        }
        for (int i = 0; i < c.length; i++) c[i] /= total;
        return c;
    }

    /** torch.searchsorted (left) over {@code c} padded with its last value up to {@code length}. */
    private static int searchsorted(double[] c, int length, double target) {
        for (int i = 0; i < c.length; i++) if (c[i] >= target) return i;
        return length;   // the padding repeats the last value, which is below the target too
    }

    /** Share of the Frobenius norm (sqrt of the sum of S²) the first {@code rank} values keep. */
    public static double froRetained(double[] s, int rank) {
        double all = 0, kept = 0;
        for (int i = 0; i < s.length; i++) {
            all += s[i] * s[i];
            if (i < rank) kept += s[i] * s[i];
        }
        return all == 0 ? 1 : Math.sqrt(kept / all);
    }

    /** Frobenius norm of what dropping values past {@code rank} loses: sqrt(sum of the discarded S²) (Eckart–Young). */
    public static double discardedFro(double[] s, int rank) {
        double d = 0;
        for (int i = rank; i < s.length; i++) d += s[i] * s[i];
        return Math.sqrt(d);
    }

    /**
     * The thin SVD of {@code up · down} (up (out, r), down (r, in), any r) without forming the product:
     * up = U1·diag(S1)·Vh1, then (diag(S1)·Vh1·down) = U2·diag(S2)·Vh2, so up·down = (U1·U2)·diag(S2)·Vh2, exact
     * and of size min(r, out, in). Inputs are 2-D float tensors; temporaries belong to the caller's scope.
     */
    public static Tensor.Svd svdOfProduct(Tensor up, Tensor down) {
        Tensor.Svd a = up.svd();
        Tensor.Svd b = a.s().unsqueeze(1).mul(a.vh()).mm(down).svd();
        return new Tensor.Svd(a.u().mm(b.u()), b.s(), b.vh());
    }

    /** The factors of the first {@code rank} components: {up (out, rank) = U_r·diag(S_r), down (rank, in) = Vh_r}. */
    public static Tensor[] factors(Tensor.Svd svd, int rank) {
        int k = (int) Math.min(rank, svd.s().size(0));
        return new Tensor[] {svd.u().narrow(1, 0, k).mul(svd.s().narrow(0, 0, k)).contiguous(), svd.vh().narrow(0, 0, k).contiguous()};
    }

    /**
     * kohya's extraction of one module from a weight difference ({@code extract_lora_from_models.py}): the
     * thin SVD of {@code delta} (2-D, convolutions flattened), the first {@code rank} components as
     * {up = U_r·diag(S_r), down = Vh_r}, then both clamped to ±(the {@code clampQuantile} quantile of their
     * joined values, torch.quantile's linear interpolation); {@code clampQuantile >= 1} clamps nothing.
     * Also returns the singular values (third element's {@code toDoubleArray}).
     */
    public static Tensor[] fromDelta(Tensor delta, int rank, double clampQuantile) {
        Tensor.Svd svd = delta.svd();
        Tensor[] f = fromSvd(svd, rank, clampQuantile);
        return new Tensor[] {f[0], f[1], svd.s()};
    }

    /** {up, down} of the first {@code rank} components of {@code svd}, clamped as {@link #fromDelta}. */
    public static Tensor[] fromSvd(Tensor.Svd svd, int rank, double clampQuantile) {
        Tensor[] f = factors(svd, rank);
        if (clampQuantile < 1) {
            double hi = quantile(Torch.cat(java.util.List.of(f[0].flatten(), f[1].flatten()), 0), clampQuantile);
            f[0] = f[0].clamp(-hi, hi);
            f[1] = f[1].clamp(-hi, hi);
        }
        return f;
    }

    /** torch.quantile(x, q) of a 1-D tensor (linear interpolation between the two nearest order statistics). */
    public static double quantile(Tensor x, double q) {
        double[] v = x.sort(0, false).values().toDoubleArray();
        double pos = q * (v.length - 1);
        int lo = (int) Math.floor(pos), hi = (int) Math.ceil(pos);
        return v[lo] + (v[hi] - v[lo]) * (pos - lo);
    }

    /** The singular values as doubles. */
    public static double[] values(Tensor.Svd svd) { return svd.s().toDoubleArray(); }
}
