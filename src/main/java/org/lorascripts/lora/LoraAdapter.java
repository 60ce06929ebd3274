package org.lorascripts.lora;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lorascripts.nn.Adapter;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.CustomFunction;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rebuild;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * One low-rank adapter: out = up(down(dropout(x))) * scale * multiplier. down is kohya's
 * lora_down / PEFT's lora_A (rank, in[, kh, kw]); up is lora_up / lora_B (out, rank[, 1, 1]).
 * Both are fp32 master weights owned here; they are cast to the input's dtype in forward (under
 * autocast the cast is what autocast would do anyway), so gradients reach the fp32 masters.
 *
 * <p>With a magnitude vector the adapter is a DoRA (Liu et al. 2024, weight-decomposed LoRA): the
 * host's weight becomes W' = m ⊙ (W + scale·up·down) / ‖W + scale·up·down‖, the norm taken per
 * output row ({@link Decomposition#OUTPUT}, PEFT's {@code use_dora}) or per input column
 * ({@link Decomposition#INPUT}, LyCORIS' {@code dora_wd} with {@code wd_on_output=False}, the
 * {@code dora_scale} that WebUI applies). It is computed without forming W' in the forward pass,
 * see {@link #addTo}. With a multiplier k the result is W + k·(W' − W), as WebUI applies a DoRA file.
 */
public final class LoraAdapter implements Adapter, AutoCloseable {
    /** Which norm of the adapted weight a DoRA magnitude vector replaces. */
    public enum Decomposition {
        /** Plain LoRA: no magnitude vector. */
        NONE,
        /**
         * PEFT's DoRA: one magnitude per output feature (the L2 norm of each row of W + ΔW), stored as
         * {@code lora_magnitude_vector} (out); the norm is detached from the graph (the paper's §4.3).
         */
        OUTPUT,
        /**
         * LyCORIS {@code dora_wd} with {@code wd_on_output=False}, the convention WebUI's
         * {@code apply_weight_decompose} implements: one magnitude per input channel (the norm over the
         * output and kernel dims), stored as {@code dora_scale} (1, in[, 1, 1]); the norm takes part in
         * the gradient, as in LyCORIS.
         */
        INPUT
    }

    private final Tensor down, up;
    private final Tensor magnitude;
    private final Decomposition decomposition;
    private final LoraHost.Kind kind;
    private final int stride, padding;
    private final int rank;
    private final double alpha, scale;
    private double dropout;
    private double neuronDropout, rankDropout, moduleDropout;   // kohya's network_dropout, rank_dropout, module_dropout
    private double multiplier = 1.0;
    private boolean training;

    LoraAdapter(Tensor down, Tensor up, LoraHost.Kind kind, int stride, int padding, int rank, double alpha, double scale, double dropout) {
        this(down, up, null, Decomposition.NONE, kind, stride, padding, rank, alpha, scale, dropout);
    }

    /** A DoRA when {@code magnitude} is given (fp32, shaped as {@link #magnitudeShape} says). */
    LoraAdapter(Tensor down, Tensor up, Tensor magnitude, Decomposition decomposition, LoraHost.Kind kind, int stride, int padding,
                int rank, double alpha, double scale, double dropout) {
        if ((magnitude == null) != (decomposition == Decomposition.NONE)) {
            throw new IllegalArgumentException("a DoRA needs both a magnitude vector and its decomposition");
        }
        this.down = down;
        this.up = up;
        this.magnitude = magnitude;
        this.decomposition = decomposition;
        this.kind = kind;
        this.stride = stride;
        this.padding = padding;
        this.rank = rank;
        this.alpha = alpha;
        this.scale = scale;
        this.dropout = dropout;
    }

    /** New adapter for a host, initialised as kohya and PEFT do: kaiming-uniform(a=√5) down, zero up. */
    static LoraAdapter create(LoraHost host, int rank, double alpha, double scale, double dropout, Device device) {
        long[] ws = host.weightShape();
        long out = ws[0], in = ws[1];
        Tensor down, up;
        if (host.kind() == LoraHost.Kind.LINEAR) {
            down = Torch.empty(new long[] {rank, in}, DType.F32, device);
            up = Torch.zeros(new long[] {out, rank}, DType.F32, device);
        } else {
            long kh = ws[2], kw = ws[3];
            down = Torch.empty(new long[] {rank, in, kh, kw}, DType.F32, device);
            up = Torch.zeros(new long[] {out, rank, 1, 1}, DType.F32, device);
        }
        long fanIn = in * (ws.length == 4 ? ws[2] * ws[3] : 1);
        double bound = 1 / Math.sqrt(fanIn);  // kaiming_uniform_(a=sqrt(5)): gain sqrt(1/3) * sqrt(3 / fan_in)
        down.uniform_(-bound, bound);
        down.requiresGrad_(true);
        up.requiresGrad_(true);
        return new LoraAdapter(down, up, host.kind(), host.stride(), host.padding(), rank, alpha, scale, dropout);
    }

    /**
     * A new DoRA for a host: the LoRA pair as {@link #create}, and the magnitude initialised to the norm
     * of the host's weight (up is zero, so W + ΔW = W): the adapter starts as the identity.
     */
    static LoraAdapter createDora(LoraHost host, Decomposition decomposition, int rank, double alpha, double scale, double dropout, Device device) {
        LoraAdapter plain = create(host, rank, alpha, scale, dropout, device);
        Tensor m;
        try (var ng = Autograd.noGrad(); Scope s = Scope.open()) {   // frees the fp32 copy at once
            m = weightNorm(host.weight().to(DType.F32, device), decomposition).contiguous().copy().keep();
        }
        m.requiresGrad_(true);
        return new LoraAdapter(plain.down, plain.up, m, decomposition, host.kind(), host.stride(), host.padding(), rank, alpha, scale, dropout);
    }

    /** The magnitude shape for a host: (out) for OUTPUT (linear layers), (1, in) or (1, in, 1, 1) for INPUT. */
    public static long[] magnitudeShape(LoraHost host, Decomposition d) {
        long[] ws = host.weightShape();
        return switch (d) {
            case NONE -> new long[0];
            case OUTPUT -> new long[] {ws[0]};
            case INPUT -> ws.length == 4 ? new long[] {1, ws[1], 1, 1} : new long[] {1, ws[1]};
        };
    }

    /** ‖w‖ per output row (shape (out)) or per input column (shape (1, in[, 1, 1])). */
    static Tensor weightNorm(Tensor w, Decomposition d) {
        return switch (d) {
            case OUTPUT -> w.reshape(w.size(0), -1).norm(2, new long[] {1}, false);
            case INPUT -> w.norm(2, w.dim() == 4 ? new long[] {0, 2, 3} : new long[] {0}, true);
            case NONE -> throw new IllegalStateException("a plain LoRA has no weight norm");
        };
    }

    @Override public Tensor apply(Tensor x) { return lowRank(dropped(x)).mul(scale * multiplier); }

    /**
     * y + {@link #apply}(x) without full-size temporaries beyond the result: for a linear host the up projection
     * accumulates into a copy of y in one GEMM (addmm, the scale as its alpha); for a convolution the scale rides on
     * the addition. The plain composition kept three host-output-sized tensors alive at once (up's output, its
     * scaled copy and the sum), the largest transient of a checkpointed block's recomputation.
     */
    private Tensor addLowRank(Tensor y, Tensor x) {
        boolean dropping = training && dropout > 0;
        Rebuild rb = x.rebuild();
        boolean rebuilt = rb != null && rb.usable();
        Tensor h = (dropping || rebuilt) && kind == LoraHost.Kind.LINEAR && Autograd.isGradEnabled()
                ? savingDown(x, dropping, rebuilt ? rb : null) : downProject(dropped(x));   // (..., r)
        double s = scale * multiplier;
        if (training && (neuronDropout > 0 || rankDropout > 0 || moduleDropout > 0)) {
            h = kohyaDropped(h);
            if (rankDropout > 0) s /= 1 - rankDropout;   // kohya: the kept ranks count as if the rank were smaller
        }
        if (kind == LoraHost.Kind.LINEAR) {
            Tensor u = cast(up, x.dtype());
            long out = u.size(0);
            if (y.dtype() == h.dtype() && y.dim() >= 1 && y.size(-1) == out) {
                Tensor sum = Functional.addmm(y.reshape(-1, out), h.reshape(-1, h.size(-1)), u.transpose(0, 1), 1.0, s);
                return sum.view(y.shape());
            }
        }
        return y.add(upProject(h, x.dtype()), s);
    }

    /**
     * kohya's dropouts on the rank-r hidden h (linear (..., r), convolution (B, r, H, W)): network dropout, then the rank
     * mask torch.rand((batch, r)) > p broadcast over tokens or pixels, and the module's 0/1 draw (kohya skips when
     * rand < p). The rank dropout's 1 / (1 - p) rides on the caller's scale.
     */
    private Tensor kohyaDropped(Tensor h) {
        if (neuronDropout > 0) h = Functional.dropout(h, neuronDropout, true);
        Tensor keep = null;
        if (rankDropout > 0) {
            long[] shape = new long[h.dim()];
            Arrays.fill(shape, 1);
            shape[0] = h.size(0);
            shape[kind == LoraHost.Kind.LINEAR ? h.dim() - 1 : 1] = rank;
            keep = Torch.rand(new long[] {h.size(0), rank}, DType.F32, h.device()).gt(rankDropout).view(shape);
        }
        if (moduleDropout > 0) {
            Tensor on = Torch.rand(new long[] {1}, DType.F32, h.device()).ge(moduleDropout);
            keep = keep == null ? on : keep.logicalAnd(on);
        }
        return keep == null ? h : h.mul(keep);
    }

    /**
     * down(x) of a linear host while training, as one operation that saves less than the plain product would:
     * <ul>
     * <li>with dropout, x and dropout's boolean keep mask instead of the dropped copy: backward makes the dropped input
     *     again for down's gradient. x is often saved already (q, k and v share one input, and the attention keeps
     *     o's), so an adapter costs one byte per input element instead of a dropped copy plus a mask (PEFT's and the
     *     plain composition's). Same random draws as {@link Functional#dropout} and the same roundings: the dropped
     *     input is x * mask * (1 / (1 - p)) in x's dtype, cast to the product's dtype (autocast's) as the product casts
     *     it; the input's gradient is (grad · down) * mask * (1 / (1 - p)) in x's dtype.</li>
     * <li>with {@code rb}, with or without dropout, x's {@link Rebuild} sources instead of x (a norm's output, made
     *     again from the norm's saved input in backward), so x is freed once its forward readers are done.</li>
     * </ul>
     * The gradients are the plain product's: grad^T · x for down, grad · down for x.
     */
    private Tensor savingDown(Tensor x, boolean dropping, Rebuild rb) {
        double keep = dropping ? 1.0 / (1.0 - dropout) : 1.0;
        Tensor d, h, mask = null;
        try (var ng = Autograd.noGrad()) {
            d = cast(down, x.dtype());
            if (dropping) {
                Tensor[] dm = Functional.dropoutWithMask(x, dropout);
                mask = dm[1];
                h = Functional.linear(dm[0], d, null);
                dm[0].close();
            } else {
                h = Functional.linear(x, d, null);
            }
        }
        boolean xGrad = x.requiresGrad(), masked = mask != null;
        DType xType = x.dtype(), downType = down.dtype();
        long in = x.size(-1), r = down.size(0);
        List<Tensor> saved = new ArrayList<>(rb != null ? rb.sources() : List.of(x.detach()));
        int nSrc = saved.size();
        if (masked) saved.add(mask);
        saved.add(d.detach());
        Tensor out = CustomFunction.apply((grads, sv) -> {
            Tensor g = grads.get(0);                                                   // (..., r), the product's dtype
            Tensor xs = rb != null ? rb.value(sv.subList(0, nSrc)) : sv.get(0);
            Tensor m = masked ? sv.get(nSrc) : null, dw = sv.get(sv.size() - 1);
            DType ct = g.dtype();
            Tensor xd = masked ? xs.mul(m).mul(keep) : xs;
            Tensor gd = g.reshape(-1, r).transpose(0, 1).mm(cast(xd, ct).reshape(-1, in));   // (r, in)
            if (xd != xs) xd.close();
            if (rb != null) xs.close();
            Tensor gx = null;
            if (xGrad) {
                gx = cast(g.matmul(cast(dw, ct)), xType);
                if (masked) gx = gx.mul(m).mul(keep);
            }
            return Arrays.asList(gx, cast(gd, downType));
        }, List.of(x, down), List.of(h), saved).get(0);
        if (rb != null && out != h) rb.addReader();   // a backward was registered: it will read the remake once
        return out;
    }

    /** x through the adapter's dropout while training (x itself otherwise). */
    private Tensor dropped(Tensor x) { return training && dropout > 0 ? Functional.dropout(x, dropout, true) : x; }

    private static Tensor cast(Tensor t, DType dt) { return t.dtype() == dt ? t : t.to(dt); }

    /** down(in), down in in's dtype. */
    private Tensor downProject(Tensor in) {
        Tensor d = cast(down, in.dtype());
        return kind == LoraHost.Kind.LINEAR ? Functional.linear(in, d, null) : Functional.conv2d(in, d, null, stride, padding, 1);
    }

    /** up(h), up in dt. */
    private Tensor upProject(Tensor h, DType dt) {
        Tensor u = cast(up, dt);
        return kind == LoraHost.Kind.LINEAR ? Functional.linear(h, u, null) : Functional.conv2d(h, u, null, 1, 0, 1);
    }

    /** A DoRA rescales the host's output; a plain LoRA only adds to it. */
    @Override public boolean readsHostOutput() { return decomposition != Decomposition.NONE; }

    /**
     * The host's output with the adapter. A plain LoRA adds {@link #apply}. A DoRA adds
     * k·(x·W'ᵀ − x·Wᵀ) without forming W':
     * <ul>
     * <li>OUTPUT (PEFT's {@code DoraLinearLayer.forward}): c = m / ‖W + s·BA‖ (per row, detached);
     *     adds (c − 1)·(y − bias) + c·s·B(A(x')). With dropout active x' = dropout(x) and the base term is
     *     recomputed from x' without bias, as PEFT does; otherwise x' = x and y − bias is reused.</li>
     * <li>INPUT: c = m / ‖W + s·BA‖ (per input column): W' = (W + s·BA)·diag(c), so
     *     x·W'ᵀ − x·Wᵀ = (x ⊙ (c − 1))·Wᵀ + s·B(A(x' ⊙ c)); for convolutions c scales input channels.</li>
     * </ul>
     */
    @Override public Tensor addTo(Tensor y, Tensor x, LoraHost host) {
        if (decomposition == Decomposition.NONE) return addLowRank(y, x);
        DType dt = x.dtype();
        Tensor norm;
        if (decomposition == Decomposition.OUTPUT) {
            try (var ng = Autograd.noGrad()) {
                norm = currentNorm(host);        // a constant for the gradient, as in PEFT
            }
        } else {
            norm = currentNorm(host);
        }
        Tensor c = magnitude.div(norm);
        Tensor cx = c.dtype() == dt ? c : c.to(dt);
        boolean dropping = training && dropout > 0;
        Tensor delta;
        if (decomposition == Decomposition.OUTPUT) {
            boolean linear = kind == LoraHost.Kind.LINEAR;
            Tensor cout = linear ? cx : cx.reshape(1, -1, 1, 1);                 // over the last dim, or the channels
            Tensor lx = dropped(x);
            Tensor base;
            if (dropping) {
                Tensor w = host.weight();
                Tensor wx = w.dtype() == dt ? w : w.to(dt);
                base = linear ? Functional.linear(lx, wx, null) : Functional.conv2d(lx, wx, null, stride, padding, 1);
            } else if (host.bias() == null) {
                base = y;
            } else {
                Tensor b = host.bias().dtype() == dt ? host.bias() : host.bias().to(dt);
                base = y.sub(linear ? b : b.reshape(1, -1, 1, 1));
            }
            delta = cout.sub(1).mul(base).add(cout.mul(lowRank(lx)).mul(scale));
        } else {
            Tensor cin = kind == LoraHost.Kind.LINEAR ? cx.reshape(-1) : cx;   // (in) over the last dim, or (1, in, 1, 1)
            Tensor w = host.weight();
            Tensor wx = w.dtype() == dt ? w : w.to(dt);
            Tensor scaledBase = x.mul(cin.sub(1));
            Tensor base = kind == LoraHost.Kind.LINEAR ? Functional.linear(scaledBase, wx, null)
                    : Functional.conv2d(scaledBase, wx, null, stride, padding, 1);
            Tensor lx = dropped(x);
            delta = base.add(lowRank(lx.mul(cin)).mul(scale));
        }
        return y.add(multiplier == 1.0 ? delta : delta.mul(multiplier));
    }

    /** up(down(x)) in x's dtype, unscaled. */
    private Tensor lowRank(Tensor in) { return upProject(downProject(in), in.dtype()); }

    /** ‖W + s·up·down‖ in fp32 (fp64 for an fp64 host), shaped as the magnitude. */
    private Tensor currentNorm(LoraHost host) {
        Tensor hw = host.weight();   // read once: a quantised host (NF4, fp8) makes a dense copy per call
        DType nt = hw.dtype() == DType.F64 ? DType.F64 : DType.F32;
        Tensor w = hw.dtype() == nt ? hw : hw.to(nt);
        return weightNorm(w.add(rawDelta(nt), scale), decomposition);
    }

    /** up @ down shaped like the host's weight, unscaled, in dt. */
    private Tensor rawDelta(DType dt) {
        Tensor dn = down.dtype() == dt ? down : down.to(dt), upc = up.dtype() == dt ? up : up.to(dt);
        if (kind == LoraHost.Kind.LINEAR) return upc.matmul(dn);
        long[] ds = down.shape();
        Tensor d2 = dn.reshape(ds[0], -1);                   // (r, in*kh*kw)
        Tensor u2 = upc.reshape(up.shape()[0], ds[0]);       // (out, r)
        return u2.matmul(d2).reshape(up.shape()[0], ds[1], ds[2], ds[3]);
    }

    /** The weight delta of a plain LoRA, shaped like the host's weight: up @ down * scale * multiplier, computed in dt. */
    public Tensor delta(DType dt) {
        if (decomposition != Decomposition.NONE) throw new IllegalStateException("a DoRA's delta depends on the host's weight; use delta(host, dt)");
        return rawDelta(dt).mul(scale * multiplier);
    }

    /**
     * What merging adds to the host's weight, in dt: the LoRA delta, or for a DoRA
     * k·(c ⊙ (W + s·BA) − W) with c = m / ‖W + s·BA‖ (PEFT's merge, WebUI's {@code apply_weight_decompose}).
     */
    public Tensor delta(LoraHost host, DType dt) {
        if (decomposition == Decomposition.NONE) return delta(dt);
        Tensor w = host.weight().to(dt);
        Tensor merged = w.add(rawDelta(dt), scale);
        Tensor norm = weightNorm(merged, decomposition);
        Tensor c = magnitude.to(dt).div(norm);
        if (decomposition == Decomposition.OUTPUT) c = c.reshape(merged.dim() == 4 ? new long[] {-1, 1, 1, 1} : new long[] {-1, 1});
        return merged.mul(c).sub(w).mul(multiplier);
    }

    @Override public java.util.List<Tensor> parameters() {
        return magnitude == null ? java.util.List.of(down, up) : java.util.List.of(down, up, magnitude);
    }

    /** The DoRA magnitude vector (fp32 master), or null for a plain LoRA. */
    public Tensor magnitude() { return magnitude; }

    public Decomposition decomposition() { return decomposition; }

    public Tensor down() { return down; }
    public Tensor up() { return up; }
    public int rank() { return rank; }
    public double alpha() { return alpha; }
    public double scale() { return scale; }
    public LoraHost.Kind kind() { return kind; }
    public void setTraining(boolean on) { training = on; }

    /** {network_dropout, rank_dropout, module_dropout} as {@link #setKohyaDropouts} set them. */
    public double[] kohyaDropouts() { return new double[] {neuronDropout, rankDropout, moduleDropout}; }

    /**
     * kohya's dropouts of a plain LoRA (networks.lora's LoRAModule), applied while training: {@code neuron} on the
     * rank-r hidden down(x) ({@code --network_dropout}); {@code rank} drops each rank per example (a mask of
     * (batch, r) broadcast over tokens or pixels) and scales the kept ones by 1 / (1 - p); {@code module} leaves the
     * whole low-rank term out of a forward with that probability. All draws are on the device, so a CUDA-graph
     * replay draws afresh and a checkpointed segment's recomputation draws the same. A DoRA ignores them.
     */
    public void setKohyaDropouts(double neuron, double rank, double module) {
        for (double p : new double[] {neuron, rank, module}) {
            if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("a dropout probability must be in [0, 1), got " + p);
        }
        neuronDropout = neuron;
        rankDropout = rank;
        moduleDropout = module;
    }
    public void setMultiplier(double m) { multiplier = m; }
    public double multiplier() { return multiplier; }

    @Override public void close() {
        down.close();
        up.close();
        if (magnitude != null) magnitude.close();
    }
}
