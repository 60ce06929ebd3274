package org.lorascripts.train.optim;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * AdamW with 8-bit blockwise moments, as bitsandbytes' {@code AdamW8bit} (kohya's
 * {@code optimizer_type: AdamW8bit}; optim_bits 8, block_wise, percentile clipping off).
 *
 * <p>A parameter with {@code minSize} (bitsandbytes' {@code min_8bit_size}, 4096) or more elements
 * keeps its first moment m as uint8 codes into the signed dynamic map and its second moment v as
 * codes into the unsigned dynamic map ({@link #dynamicMap}), each with one float32 absmax per block
 * of {@value #BLOCK} consecutive elements (row-major), so a value is {@code map[code] · absmax[block]}.
 * One step at step count t (1-based), all in float32:
 * <pre>
 * m = β1·dequant(m) + (1-β1)·g            v = β2·dequant(v) + (1-β2)·g²
 * p += -lr·sqrt(1-β2^t)/(1-β1^t) · m / (sqrt(v) + sqrt(1-β2^t)·eps)
 * p *= 1 - lr·wd                           (after the update, unlike torch's AdamW)
 * absmax = max |·| of the new m (v) per block; code = the nearest map value to m/absmax (v/absmax)
 * </pre>
 * The parameter is updated from the unrounded new moments; only what is stored is rounded. A
 * negative m that rounds to the zero code takes the next code down, so the stored first moment keeps
 * its sign (as the CUDA kernel does). Smaller parameters keep float32 m and v and take the same
 * formula without rounding (bitsandbytes' 32-bit path).
 *
 * <p>Differences from bitsandbytes that do not change training: a block whose moments are all zero
 * stores the zero code (bitsandbytes stores a code of an undefined 0/0; both dequantise to 0), a value
 * exactly on the midpoint of two codes rounds down, and a non-finite gradient element is not masked
 * element by element (an fp16 step with one is skipped whole through {@code foundInf}).
 *
 * <p>State keys are bitsandbytes' names: {@code <param>.state1}, {@code .state2} (uint8 codes or
 * float32 moments), {@code .absmax1}, {@code .absmax2} (8-bit parameters only) and {@code .step}.
 */
public final class AdamW8bit implements Optimizer {
    /** Elements per absmax block (the CUDA kernel's BLOCKSIZE_2STATE). */
    public static final int BLOCK = 256;
    /** bitsandbytes' default {@code min_8bit_size}: smaller parameters keep 32-bit moments. */
    public static final int DEFAULT_MIN_SIZE = 4096;

    static final String STATE1 = ".state1";
    static final String STATE2 = ".state2";
    static final String ABSMAX1 = ".absmax1";
    static final String ABSMAX2 = ".absmax2";
    static final String STEP = ".step";
    private static final String[] SUFFIXES = {STATE1, STATE2, ABSMAX1, ABSMAX2, STEP};

    /** The two dynamic maps (host copies), computed once. */
    private static final float[] SIGNED_MAP = dynamicMap(true);
    private static final float[] UNSIGNED_MAP = dynamicMap(false);

    private final List<NamedParam> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final long minSize;
    private final ParamState[] state;
    /** Per device: the maps and their midpoints, made on first use. */
    private final Map<Device, Maps> maps = new HashMap<>();
    private boolean closed;

    /** m and v (codes or float32), the absmax (null for 32-bit states) and the step count. */
    private record ParamState(Tensor state1, Tensor state2, Tensor absmax1, Tensor absmax2, long[] step) {
        boolean quantized() { return absmax1 != null; }

        void close() {
            state1.close();
            state2.close();
            if (absmax1 != null) absmax1.close();
            if (absmax2 != null) absmax2.close();
        }
    }

    private record Maps(Tensor signed, Tensor unsigned, Tensor signedMid, Tensor unsignedMid, long zeroCode) {
        void close() {
            signed.close();
            unsigned.close();
            signedMid.close();
            unsignedMid.close();
        }
    }

    public AdamW8bit(List<NamedParam> params, double beta1, double beta2, double eps, double weightDecay) {
        this(params, beta1, beta2, eps, weightDecay, DEFAULT_MIN_SIZE);
    }

    public AdamW8bit(List<NamedParam> params, double beta1, double beta2, double eps, double weightDecay, long minSize) {
        AdamSupport.checkHyperparameters(beta1, beta2, eps, weightDecay);
        if (minSize < 0) throw new IllegalArgumentException("min_8bit_size must be >= 0, got " + minSize);
        AdamSupport.checkParams(params, "AdamW8bit");
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.minSize = minSize;
        this.state = new ParamState[this.params.size()];
    }

    /**
     * bitsandbytes' dynamic quantisation map ({@code create_dynamic_map(signed)} with 7 exponent bits
     * of 8): for each decade 10^k, k = -6..0, the midpoints of an even split of [0.1, 1] into
     * 2^(k+6) parts (signed: the same again negated) or 2^(k+7) parts (unsigned), times 10^k, then 0
     * and 1; 256 values, sorted, computed in float32 as the published formula.
     */
    public static float[] dynamicMap(boolean signed) {
        float[] r = new float[256];
        int k = 0;
        for (int i = 0; i < 7; i++) {
            int items = signed ? (1 << i) + 1 : (1 << (i + 1)) + 1;
            float[] b = linspace(0.1f, 1f, items);
            float scale = (float) Math.pow(10, -6 + i);
            for (int j = 0; j + 1 < items; j++) {
                float mean = (b[j] + b[j + 1]) / 2f;
                r[k++] = scale * mean;
                if (signed) r[k++] = -scale * mean;
            }
        }
        r[k++] = 0f;
        r[k++] = 1f;
        if (k != 256) throw new IllegalStateException("dynamic map has " + k + " values");
        Arrays.sort(r);
        return r;
    }

    /**
     * torch.linspace in float32 as its scalar CPU kernel computes it (the first half counts up from
     * start, the second down from end). torch's vectorised kernel rounds some values a few ulps apart,
     * depending on the torch build and the machine's vector width; this form is the same everywhere.
     */
    static float[] linspace(float start, float end, int steps) {
        float[] r = new float[steps];
        float step = (end - start) / (steps - 1);
        int half = steps / 2;
        for (int i = 0; i < steps; i++) r[i] = i < half ? start + step * i : end - step * (steps - i - 1);
        return r;
    }

    /** Whether a parameter of {@code numel} elements gets 8-bit states here. */
    public boolean quantizes(long numel) { return numel >= minSize; }

    @Override public List<NamedParam> params() { return params; }

    @Override public void step(double lr, Tensor foundInf) {
        checkOpen();
        if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        try (Scope scope = Scope.open(); Autograd.GradMode noGrad = Autograd.noGrad()) {
            if (foundInf != null && foundInf.item() != 0) return;
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i).tensor();
                Tensor g = p.grad();
                if (g == null) continue;
                ParamState s = stateOf(i, p);
                s.step()[0]++;
                double lrp = lr * params.get(i).lrScale();
                if (s.quantized()) quantizedStep(p, g, s, lrp);
                else plainStep(p, g, s, lrp);
            }
        }
    }

    private void plainStep(Tensor p, Tensor g, ParamState s, double lr) {
        long t = s.step()[0];
        double c1 = 1 - Math.pow(beta1, t);
        double c2 = Math.sqrt(1 - Math.pow(beta2, t));
        s.state1().mul_(beta1).add_(g, 1 - beta1);
        s.state2().mul_(beta2).addcmul_(g, g, 1 - beta2);
        p.addcdiv_(s.state1(), s.state2().sqrt().add_(c2 * eps), -lr * c2 / c1);
        if (weightDecay > 0) p.mul_(1 - lr * weightDecay);
    }

    private void quantizedStep(Tensor p, Tensor g, ParamState s, double lr) {
        long t = s.step()[0];
        double c1 = 1 - Math.pow(beta1, t);
        double c2 = Math.sqrt(1 - Math.pow(beta2, t));
        Maps mp = mapsOn(p.device());
        long n = p.numel();
        long blocks = s.absmax1().numel();
        // [blocks, BLOCK], the last block zero-padded: zeros change no block's absmax. m and v are fresh
        // tensors (index_select), updated in place; the gradient is only read.
        Tensor m = blockwise(mp.signed().indexSelect(0, s.state1().flatten().to(DType.I64)), n, blocks).mul_(s.absmax1().unsqueeze(1));
        Tensor v = blockwise(mp.unsigned().indexSelect(0, s.state2().flatten().to(DType.I64)), n, blocks).mul_(s.absmax2().unsqueeze(1));
        Tensor gb = blockwise(g.flatten(), n, blocks);
        m.mul_(beta1).add_(gb, 1 - beta1);
        v.mul_(beta2).addcmul_(gb, gb, 1 - beta2);
        Tensor a1 = m.abs().amax(new long[] {1}, true);
        Tensor a2 = v.amax(new long[] {1}, true);
        Tensor mFlat = m.reshape(-1).narrow(0, 0, n);
        Tensor vFlat = v.reshape(-1).narrow(0, 0, n);
        p.view(-1).addcdiv_(mFlat, vFlat.sqrt().add_(c2 * eps), -lr * c2 / c1);
        if (weightDecay > 0) p.mul_(1 - lr * weightDecay);
        // requantise: nearest code by the midpoints between neighbours; an all-zero block divides by 1
        Tensor q1 = m.div(Torch.where(a1.eq(0), Torch.full(new long[0], 1, DType.F32, p.device()), a1)).reshape(-1).narrow(0, 0, n)
                .bucketize(mp.signedMid(), false);
        // a negative m rounded to the zero code keeps its sign: the next code down
        q1.sub_(mFlat.lt(0).logicalAnd(q1.eq(mp.zeroCode())).to(DType.I64));
        Tensor q2 = v.div(Torch.where(a2.eq(0), Torch.full(new long[0], 1, DType.F32, p.device()), a2)).reshape(-1).narrow(0, 0, n)
                .bucketize(mp.unsignedMid(), false);
        s.state1().view(-1).copy_(q1.to(DType.U8));
        s.state2().view(-1).copy_(q2.to(DType.U8));
        s.absmax1().copy_(a1.view(-1));
        s.absmax2().copy_(a2.view(-1));
    }

    private static Tensor blockwise(Tensor flat, long n, long blocks) {
        long pad = blocks * BLOCK - n;
        Tensor f = flat;
        if (pad > 0) f = Torch.cat(List.of(f, Torch.zeros(new long[] {pad}, DType.F32, flat.device())), 0);
        return f.reshape(blocks, BLOCK);
    }

    private Maps mapsOn(Device d) {
        return maps.computeIfAbsent(d, dev -> {
            try (Scope scope = Scope.open()) {
                Tensor sm = Torch.of(SIGNED_MAP, 256).to(dev);
                Tensor um = Torch.of(UNSIGNED_MAP, 256).to(dev);
                long zero = -1;
                for (int i = 0; i < 256; i++) if (SIGNED_MAP[i] == 0f) zero = i;
                return new Maps(sm.keep(), um.keep(), midpoints(sm).keep(), midpoints(um).keep(), zero);
            }
        });
    }

    /** (map[k] + map[k+1]) · 0.5 in float32, the kernel's rounding boundaries. */
    private static Tensor midpoints(Tensor map) {
        return map.narrow(0, 0, 255).add(map.narrow(0, 1, 255)).mul(0.5);
    }

    private ParamState stateOf(int i, Tensor p) {
        if (state[i] == null) state[i] = freshState(p.shape(), p.numel(), p.device());
        return state[i];
    }

    private ParamState freshState(long[] shape, long n, Device d) {
        if (!quantizes(n)) {
            return new ParamState(Torch.zeros(shape, DType.F32, d).keep(), Torch.zeros(shape, DType.F32, d).keep(), null, null, new long[1]);
        }
        long blocks = (n + BLOCK - 1) / BLOCK;
        return new ParamState(Torch.zeros(shape, DType.U8, d).keep(), Torch.zeros(shape, DType.U8, d).keep(),
                Torch.zeros(new long[] {blocks}, DType.F32, d).keep(), Torch.zeros(new long[] {blocks}, DType.F32, d).keep(), new long[1]);
    }

    /** Bytes held by the moments of every parameter that has state (codes, absmax or float32 moments). */
    @Override public long stateBytes() {
        long r = 0;
        for (ParamState s : state) {
            if (s == null) continue;
            r += bytes(s.state1()) + bytes(s.state2());
            if (s.quantized()) r += bytes(s.absmax1()) + bytes(s.absmax2());
        }
        return r;
    }

    private static long bytes(Tensor t) { return t.numel() * t.dtype().byteSize; }

    // ---- checkpoints ----

    @Override public Map<String, Tensor> stateDict() {
        checkOpen();
        Map<String, Tensor> r = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            ParamState s = state[i];
            if (s == null) continue;
            String n = params.get(i).name();
            r.put(n + STATE1, s.state1().copy());
            r.put(n + STATE2, s.state2().copy());
            if (s.quantized()) {
                r.put(n + ABSMAX1, s.absmax1().copy());
                r.put(n + ABSMAX2, s.absmax2().copy());
            }
            r.put(n + STEP, Torch.full(new long[0], s.step()[0], DType.F32, Device.CPU));
        }
        return r;
    }

    @Override public void loadStateDict(Map<String, Tensor> dict) {
        checkOpen();
        AdamSupport.checkKeys(dict, params, "<param>" + String.join(", <param>", SUFFIXES), SUFFIXES);
        ParamState[] next = new ParamState[params.size()];
        try {
            for (int i = 0; i < params.size(); i++) {
                NamedParam np = params.get(i);
                String n = np.name();
                boolean any = false;
                for (String suf : SUFFIXES) any |= dict.containsKey(n + suf);
                if (!any) continue;
                Tensor p = np.tensor();
                long[] shape = p.shape();
                boolean q = quantizes(p.numel());
                Tensor s1 = AdamSupport.require(dict, n + STATE1, n);
                Tensor s2 = AdamSupport.require(dict, n + STATE2, n);
                Tensor t = AdamSupport.require(dict, n + STEP, n);
                DType want = q ? DType.U8 : DType.F32;
                for (String key : new String[] {n + STATE1, n + STATE2}) {
                    Tensor x = dict.get(key);
                    if (!Arrays.equals(x.shape(), shape)) {
                        throw new IllegalArgumentException("optimizer state '" + key + "' has shape " + Arrays.toString(x.shape())
                                + " but parameter '" + n + "' has shape " + Arrays.toString(shape));
                    }
                    if (x.dtype() != want) {
                        throw new IllegalArgumentException("optimizer state '" + key + "' must be " + want.displayName() + " for a parameter of "
                                + p.numel() + " elements (8-bit states from " + minSize + " elements on), got " + x.dtype().displayName());
                    }
                }
                long blocks = (p.numel() + BLOCK - 1) / BLOCK;
                if (q) {
                    for (String key : new String[] {n + ABSMAX1, n + ABSMAX2}) {
                        Tensor x = AdamSupport.require(dict, key, n);
                        if (!Arrays.equals(x.shape(), new long[] {blocks}) || x.dtype() != DType.F32) {
                            throw new IllegalArgumentException("optimizer state '" + key + "' must be float32 of shape [" + blocks + "], got "
                                    + x.dtype().displayName() + " " + Arrays.toString(x.shape()));
                        }
                    }
                } else if (dict.containsKey(n + ABSMAX1) || dict.containsKey(n + ABSMAX2)) {
                    throw new IllegalArgumentException("optimizer state for '" + n + "' has absmax entries but its " + p.numel()
                            + " elements keep 32-bit states (fewer than " + minSize + ")");
                }
                double steps = AdamSupport.steps(t, n + STEP);
                ParamState s = freshState(shape, p.numel(), p.device());
                next[i] = s;
                s.state1().copy_(s1);
                s.state2().copy_(s2);
                if (q) {
                    s.absmax1().copy_(dict.get(n + ABSMAX1));
                    s.absmax2().copy_(dict.get(n + ABSMAX2));
                }
                s.step()[0] = (long) steps;
            }
        } catch (RuntimeException e) {
            for (ParamState s : next) if (s != null) s.close();
            throw e;
        }
        freeState();
        System.arraycopy(next, 0, state, 0, next.length);
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("optimizer used after close");
    }

    private void freeState() { AdamSupport.free(state, ParamState::close); }

    @Override public void close() {
        if (closed) return;
        closed = true;
        freeState();
        for (Maps m : maps.values()) m.close();
        maps.clear();
    }
}
