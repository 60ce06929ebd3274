package org.lorascripts.lora;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.nn.Adapter;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * One LyCORIS module (KohakuBlueleaf/LyCORIS) on a linear or convolution host, in LyCORIS's own
 * tensor names and shapes so that files are written and read without conversion:
 * <ul>
 * <li>LoHa: ΔW = (hada_w1_a @ hada_w1_b) ⊙ (hada_w2_a @ hada_w2_b) · alpha/dim, with w?_a (out, dim) and
 *     w?_b (dim, in·kh·kw) (a convolution is flattened to (out, in·kh·kw)); or, in files made with LyCORIS's
 *     use_tucker, each factor rebuilt from hada_t? (dim, dim, kh, kw), w?_a (dim, out), w?_b (dim, in).</li>
 * <li>LoKr: ΔW = kron(W1, W2) · scale, W1 = lokr_w1 (a, c) or lokr_w1_a @ lokr_w1_b, W2 = lokr_w2 (b, d[, kh, kw])
 *     or lokr_w2_a (b, dim) @ lokr_w2_b (dim, d·kh·kw) (or tucker lokr_t2), where out = a·b and in = c·d
 *     ({@link #factorization}). scale = alpha/dim where a low-rank pair gives dim, else 1 (both full: LyCORIS
 *     stores alpha = dim, and WebUI/ComfyUI use 1).</li>
 * </ul>
 * The forward materialises ΔW and adds {@code linear(x, ΔW)} / {@code conv2d(x, ΔW)} (LyCORIS's bypass form);
 * the tensors are fp32 masters cast to the input's dtype, as in {@link LoraAdapter}.
 */
public final class LycorisAdapter implements Adapter, AutoCloseable {
    public enum Algo {
        LOHA("loha"), LOKR("lokr");

        private final String algo;

        Algo(String algo) { this.algo = algo; }

        /** LyCORIS's {@code algo=} name. */
        public String algo() { return algo; }
    }

    private final Algo algo;
    private final Map<String, Tensor> tensors;      // LyCORIS key suffix → tensor, in LyCORIS's order
    private final long[] weightShape;
    private final LoraHost.Kind kind;
    private final int stride, padding;
    private final int dim;
    private final double alpha, scale;
    private double multiplier = 1.0;

    LycorisAdapter(Algo algo, Map<String, Tensor> tensors, long[] weightShape, LoraHost.Kind kind, int stride, int padding,
                   int dim, double alpha, double scale) {
        this.algo = algo;
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        this.weightShape = weightShape.clone();
        this.kind = kind;
        this.stride = stride;
        this.padding = padding;
        this.dim = dim;
        this.alpha = alpha;
        this.scale = scale;
    }

    /**
     * LyCORIS's factorisation of a dimension into (m, n), m ≤ n, m·n = dimension: with factor &gt; 0 dividing it,
     * (factor, dimension/factor) ordered; otherwise the divisors are walked upwards from 1 while m &lt; n and m stays
     * within factor (factor -1: unbounded), giving the most balanced pair (128 → 8, 16; 1024 → 32, 32; 127 → 1, 127).
     */
    public static long[] factorization(long dimension, int factor) {
        if (factor > 0 && dimension % factor == 0) {
            long m = factor, n = dimension / factor;
            return m > n ? new long[] {n, m} : new long[] {m, n};
        }
        long limit = factor < 0 ? dimension : factor;
        long m = 1, n = dimension;
        while (m < n) {
            long nm = m + 1;
            while (dimension % nm != 0) nm++;
            long nn = dimension / nm;
            if (nm + nn > 1 + dimension || nm > limit) break;
            m = nm;
            n = nn;
        }
        return m > n ? new long[] {n, m} : new long[] {m, n};
    }

    /**
     * A new LoHa for a host, initialised as LyCORIS's LohaModule: w1_b ~ N(0, 1), w1_a ~ N(0, 0.1), w2_b ~ N(0, 1),
     * w2_a = 0 (so ΔW starts at 0). alpha 0 means alpha = dim, as in LyCORIS.
     */
    static LycorisAdapter createLoha(LoraHost host, int dim, double alpha, Device device) {
        long[] ws = host.weightShape();
        long out = ws[0], in = flatIn(ws);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("hada_w1_a", Torch.empty(new long[] {out, dim}, DType.F32, device).normal_(0, 0.1));
        t.put("hada_w1_b", Torch.empty(new long[] {dim, in}, DType.F32, device).normal_(0, 1));
        t.put("hada_w2_a", Torch.zeros(new long[] {out, dim}, DType.F32, device));
        t.put("hada_w2_b", Torch.empty(new long[] {dim, in}, DType.F32, device).normal_(0, 1));
        double a = alpha == 0 ? dim : alpha;
        return trainable(new LycorisAdapter(Algo.LOHA, t, ws, host.kind(), host.stride(), host.padding(), dim, a, a / dim));
    }

    /**
     * A new LoKr for a host, shaped and initialised as LyCORIS's LokrModule (no tucker): out = a·b and in = c·d by
     * {@link #factorization}; W1 full (a, c) unless decomposeBoth and dim &lt; max(a, c)/2; W2 low-rank (b, dim) @
     * (dim, d·kh·kw) when dim &lt; max(b, d)/2 and not fullMatrix, else full (b, d[, kh, kw]). Kaiming-uniform (a=√5)
     * for W1 and w2_a, zeros for w2_b or a full W2. Both full: scale 1 and stored alpha = dim, as LyCORIS does.
     */
    static LycorisAdapter createLokr(LoraHost host, int dim, double alpha, int factor, boolean decomposeBoth, boolean fullMatrix,
                                     Device device) {
        long[] ws = host.weightShape();
        long[] o = factorization(ws[0], factor), i = factorization(ws[1], factor);
        long a = o[0], b = o[1], c = i[0], d = i[1];
        long kk = ws.length == 4 ? ws[2] * ws[3] : 1;
        Map<String, Tensor> t = new LinkedHashMap<>();
        boolean fullW1 = !(decomposeBoth && dim < Math.max(a, c) / 2.0 && !fullMatrix);
        if (fullW1) {
            t.put("lokr_w1", kaiming(new long[] {a, c}, c, device));
        } else {
            t.put("lokr_w1_a", kaiming(new long[] {a, dim}, dim, device));
            t.put("lokr_w1_b", kaiming(new long[] {dim, c}, c, device));
        }
        boolean fullW2 = dim >= Math.max(b, d) / 2.0 || fullMatrix;
        if (fullW2) {
            long[] shape = ws.length == 4 ? new long[] {b, d, ws[2], ws[3]} : new long[] {b, d};
            t.put("lokr_w2", Torch.zeros(shape, DType.F32, device));
        } else {
            t.put("lokr_w2_a", kaiming(new long[] {b, dim}, dim, device));
            t.put("lokr_w2_b", Torch.zeros(new long[] {dim, d * kk}, DType.F32, device));
        }
        double al = alpha == 0 ? dim : alpha;
        if (fullW1 && fullW2) al = dim;
        return trainable(new LycorisAdapter(Algo.LOKR, t, ws, host.kind(), host.stride(), host.padding(), dim, al, al / dim));
    }

    /**
     * An adapter from a file's tensors (any dtype/device; copied to fp32 on {@code device}). {@code alpha} null: the
     * file has none, and the scale is 1 as WebUI and ComfyUI apply it. The dim (for alpha/dim) is hada_w1_b's rows for
     * LoHa; for LoKr lokr_w2_b's rows, else lokr_w1_b's, and without either the scale is 1.
     */
    static LycorisAdapter fromTensors(Algo algo, Map<String, Tensor> stored, Double alpha, LoraHost host, Device device) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (var e : stored.entrySet()) t.put(e.getKey(), e.getValue().to(DType.F32, device).contiguous().copy().keep());
        Integer dim = null;
        if (algo == Algo.LOHA) {
            dim = (int) t.get("hada_w1_b").size(0);
        } else if (t.containsKey("lokr_w2_b")) {
            dim = (int) t.get("lokr_w2_b").size(0);
        } else if (t.containsKey("lokr_w1_b")) {
            dim = (int) t.get("lokr_w1_b").size(0);
        }
        double scale = dim == null || alpha == null ? 1.0 : alpha / dim;
        int d = dim == null ? 1 : dim;
        double a = alpha == null ? d : alpha;
        LycorisAdapter r = trainable(new LycorisAdapter(algo, t, host.weightShape(), host.kind(), host.stride(), host.padding(), d, a, scale));
        long[] got;
        try (var ng = org.lorascripts.tensor.Autograd.noGrad(); org.lorascripts.tensor.Scope s = org.lorascripts.tensor.Scope.open()) {
            got = r.rawDelta(DType.F32).shape();
        } catch (RuntimeException e) {
            r.close();
            throw new IllegalArgumentException("tensors of shapes " + shapes(stored) + " do not form a " + algo.algo() + " update: " + e.getMessage(), e);
        }
        if (numel(got) != numel(host.weightShape())) {
            r.close();
            throw new IllegalArgumentException(algo.algo() + " tensors " + shapes(stored) + " make an update of shape " + Arrays.toString(got)
                    + ", but the model's module has weight shape " + Arrays.toString(host.weightShape()) + "; the file was made for a model of another size");
        }
        return r;
    }

    private static LycorisAdapter trainable(LycorisAdapter a) {
        for (Tensor t : a.tensors.values()) t.requiresGrad_(true);
        return a;
    }

    private static Tensor kaiming(long[] shape, long fanIn, Device device) {
        double bound = 1 / Math.sqrt(fanIn);  // kaiming_uniform_(a=sqrt(5)): gain sqrt(1/3) * sqrt(3 / fan_in)
        return Torch.empty(shape, DType.F32, device).uniform_(-bound, bound);
    }

    private static long flatIn(long[] ws) {
        long in = ws[1];
        for (int k = 2; k < ws.length; k++) in *= ws[k];
        return in;
    }

    private static long numel(long[] s) {
        long n = 1;
        for (long x : s) n *= x;
        return n;
    }

    private static String shapes(Map<String, Tensor> t) {
        StringBuilder sb = new StringBuilder();
        for (var e : t.entrySet()) sb.append(sb.isEmpty() ? "" : ", ").append(e.getKey()).append(Arrays.toString(e.getValue().shape()));
        return sb.toString();
    }

    @Override public Tensor apply(Tensor x) {
        Tensor w = delta(x.dtype());
        return kind == LoraHost.Kind.LINEAR ? Functional.linear(x, w, null) : Functional.conv2d(x, w, null, stride, padding, 1);
    }

    /** ΔW shaped like the host's weight, scale and multiplier applied, computed in {@code dt}. */
    public Tensor delta(DType dt) {
        return rawDelta(dt).reshape(weightShape).mul(scale * multiplier);
    }

    /** The unscaled product in the shape its factors give (2-D, or 4-D for tucker / a full 4-D lokr_w2). */
    private Tensor rawDelta(DType dt) {
        return switch (algo) {
            case LOHA -> {
                Tensor w1 = factor(dt, "hada_w1_a", "hada_w1_b", "hada_t1");
                Tensor w2 = factor(dt, "hada_w2_a", "hada_w2_b", "hada_t2");
                yield w1.reshape(w1.size(0), -1).mul(w2.reshape(w2.size(0), -1));
            }
            case LOKR -> {
                Tensor w1 = tensors.containsKey("lokr_w1") ? cast("lokr_w1", dt) : cast("lokr_w1_a", dt).matmul(cast("lokr_w1_b", dt));
                Tensor w2;
                if (tensors.containsKey("lokr_w2")) {
                    w2 = cast("lokr_w2", dt);
                } else if (tensors.containsKey("lokr_t2")) {
                    w2 = tucker(cast("lokr_t2", dt), cast("lokr_w2_a", dt), cast("lokr_w2_b", dt));
                } else {
                    Tensor w2b = cast("lokr_w2_b", dt);
                    w2 = cast("lokr_w2_a", dt).matmul(w2b.reshape(w2b.size(0), -1));
                }
                yield kron(w1, w2.reshape(w2.size(0), -1));
            }
        };
    }

    /** a @ b, or the tucker rebuild from t when the file has one. */
    private Tensor factor(DType dt, String a, String b, String t) {
        if (tensors.containsKey(t)) return tucker(cast(t, dt), cast(a, dt), cast(b, dt));
        Tensor bb = cast(b, dt);
        return cast(a, dt).matmul(bb.reshape(bb.size(0), -1));     // older files keep w?_b as (dim, in, kh, kw)
    }

    /** LyCORIS's rebuild_tucker: Σ_ij t[i, j, ...] wa[i, p] wb[j, r] → (p, r, ...), for t (R, R, kh, kw). */
    static Tensor tucker(Tensor t, Tensor wa, Tensor wb) {
        Tensor tt = t.permute(2, 3, 0, 1);                              // (kh, kw, R, R)
        Tensor w = wa.transpose(0, 1).matmul(tt).matmul(wb);            // (kh, kw, out, in)
        return w.permute(2, 3, 0, 1);                                   // (out, in, kh, kw)
    }

    /** The Kronecker product of two matrices: (a, c) ⊗ (b, d) → (a·b, c·d), built by a broadcast multiply. */
    static Tensor kron(Tensor x, Tensor y) {
        long a = x.size(0), c = x.size(1), b = y.size(0), d = y.size(1);
        return x.reshape(a, 1, c, 1).mul(y.reshape(1, b, 1, d)).reshape(a * b, c * d);
    }

    private Tensor cast(String key, DType dt) {
        Tensor t = tensors.get(key);
        return t.dtype() == dt ? t : t.to(dt);
    }

    @Override public List<Tensor> parameters() { return List.copyOf(tensors.values()); }

    /** The tensors by LyCORIS key suffix ({@code hada_w1_a}, {@code lokr_w1}, ...), in file order. */
    public Map<String, Tensor> tensors() { return tensors; }

    public Algo algo() { return algo; }
    /** LyCORIS's lora_dim: the rank of the low-rank factors. */
    public int dim() { return dim; }
    /** The alpha written to the file. */
    public double alpha() { return alpha; }
    public double scale() { return scale; }
    public LoraHost.Kind kind() { return kind; }
    public long[] weightShape() { return weightShape.clone(); }
    public void setMultiplier(double m) { multiplier = m; }
    public double multiplier() { return multiplier; }

    @Override public void close() { tensors.values().forEach(Tensor::close); }
}
