package org.lorascripts.train.optim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.ffi.AutogradApi;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.nn.NamedParam;

/**
 * AdamW with decoupled weight decay, step for step as {@code torch.optim.AdamW} (amsgrad off).
 * For a parameter p with gradient g at its step t (1-based):
 * <pre>
 * p *= 1 - lr·wd
 * m  = β1·m + (1-β1)·g          v = β2·v + (1-β2)·g²
 * p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)
 * </pre>
 * The state (m, v, t) of a parameter is created on its first step; a parameter without a gradient
 * is skipped and its t does not advance. On CUDA with libtorch 2.2 or newer all CUDA parameters of a
 * device take one fused kernel per step; otherwise the step is composed from in-place tensor ops.
 * The learning rate is an argument of {@link #step} because the schedule lives outside; each
 * parameter takes it times its {@link NamedParam#lrScale()}.
 * The state lives outside any {@link Scope} and is freed by {@link #close}; parameters stay the
 * caller's.
 */
public final class AdamW implements Optimizer {
    static final String EXP_AVG = ".exp_avg";
    static final String EXP_AVG_SQ = ".exp_avg_sq";
    static final String STEP = ".step";

    private static final boolean FUSED_KERNEL = AutogradApi.hasFusedAdamW();

    private final List<NamedParam> params;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    /** Per parameter, by position in {@link #params}; null until its first step. */
    private final ParamState[] state;
    private boolean closed;

    /** m, v and the step count of one parameter. */
    private record ParamState(Tensor expAvg, Tensor expAvgSq, Tensor step) {
        void close() {
            expAvg.close();
            expAvgSq.close();
            step.close();
        }
    }

    public AdamW(List<NamedParam> params, double beta1, double beta2, double eps, double weightDecay) {
        AdamSupport.checkHyperparameters(beta1, beta2, eps, weightDecay);
        AdamSupport.checkParams(params, "AdamW");
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.state = new ParamState[this.params.size()];
    }

    /** The registered parameters, in order. */
    @Override public List<NamedParam> params() { return params; }

    /**
     * The fp16 path: when {@code foundInf} (a one-element f32 tensor) is non-zero no parameter
     * changes and no step count advances. Fused CUDA parameters read it on the device; the composed
     * path reads it once on the host.
     */
    @Override public void step(double lr, Tensor foundInf) {
        checkOpen();
        if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        try (Scope scope = Scope.open(); Autograd.GradMode noGrad = Autograd.noGrad()) {
            Boolean hostSkip = null;  // read lazily: the fused path never needs it
            record GroupKey(Device device, double lrScale) {}
            Map<GroupKey, FusedGroup> fused = new LinkedHashMap<>();
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i).tensor();
                double scale = params.get(i).lrScale();
                Tensor g = p.grad();
                if (g == null) continue;
                Device d = p.device();
                boolean useFused = fusesOn(d);
                if (!useFused && foundInf != null) {
                    if (hostSkip == null) hostSkip = foundInf.item() != 0;
                    if (hostSkip) continue;
                }
                ParamState s = stateOf(i, p, d, useFused);
                if (useFused) fused.computeIfAbsent(new GroupKey(d, scale), k -> new FusedGroup()).add(p, g, s);
                else composedStep(p, g, s, lr * scale);
            }
            for (Map.Entry<GroupKey, FusedGroup> e : fused.entrySet()) {
                Device d = e.getKey().device();
                Tensor inf = foundInf == null ? null : foundInf.device().equals(d) ? foundInf : foundInf.to(d);
                e.getValue().run(lr * e.getKey().lrScale(), inf);
            }
        }
    }

    private static final boolean FUSED_TENSOR_LR = FUSED_KERNEL && AutogradApi.hasFusedAdamWTensorLr();

    /** Every parameter on one CUDA device and the fused kernel takes a tensor learning rate. */
    @Override public boolean stepsOnDevice() {
        if (!FUSED_TENSOR_LR || params.isEmpty()) return false;
        Device d = params.get(0).tensor().device();
        if (!d.isCuda()) return false;
        for (NamedParam p : params) if (!p.tensor().device().equals(d)) return false;
        return true;
    }

    /**
     * The fused step with the rate read from {@code lr} on the device (times each parameter's
     * {@link NamedParam#lrScale()}, computed on the device too): nothing is read back, so the step can
     * be captured in a CUDA graph. Every parameter must have a gradient (state is created on the
     * first call, which must not be under capture).
     */
    @Override public void stepOnDevice(Tensor lr, Tensor foundInf) {
        checkOpen();
        if (!stepsOnDevice()) throw new IllegalStateException("AdamW.stepOnDevice needs every parameter on one CUDA device and libtorch 2.4+");
        try (Scope scope = Scope.open(); Autograd.GradMode noGrad = Autograd.noGrad()) {
            Map<Double, FusedGroup> groups = new LinkedHashMap<>();
            for (int i = 0; i < params.size(); i++) {
                Tensor p = params.get(i).tensor();
                Tensor g = p.grad();
                if (g == null) throw new IllegalStateException("parameter " + params.get(i).name() + " has no gradient in a device-only step");
                groups.computeIfAbsent(params.get(i).lrScale(), k -> new FusedGroup()).add(p, g, stateOf(i, p, p.device(), true));
            }
            for (Map.Entry<Double, FusedGroup> e : groups.entrySet()) {
                Tensor rate = e.getKey() == 1.0 ? lr : lr.mul(e.getKey());
                e.getValue().runOnDevice(rate, foundInf);
            }
        }
    }

    /** Drops every gradient (PyTorch's {@code zero_grad(set_to_none=True)}). */
    @Override public void zeroGrad() {
        checkOpen();
        for (NamedParam p : params) p.tensor().zeroGrad();
    }

    private static boolean fusesOn(Device d) { return FUSED_KERNEL && d.isCuda(); }

    /**
     * torch.optim's single-tensor AdamW, op for op. The step count stays on the host here (as torch
     * keeps it on the CPU when not fused), so reading it for the bias correction costs no sync.
     */
    private void composedStep(Tensor p, Tensor g, ParamState s, double lr) {
        if (weightDecay != 0) p.mul_(1 - lr * weightDecay);
        s.expAvg().lerp_(g, 1 - beta1);
        s.expAvgSq().mul_(beta2).addcmul_(g, g, 1 - beta2);
        s.step().add_(1);
        double t = s.step().item();
        double bc1 = 1 - Math.pow(beta1, t);
        double bc2 = 1 - Math.pow(beta2, t);
        Tensor denom = s.expAvgSq().sqrt().div_(Math.sqrt(bc2)).add_(eps);
        p.addcdiv_(s.expAvg(), denom, -lr / bc1);
    }

    /** The parameters of one device that go through one fused kernel call. */
    private final class FusedGroup {
        private final List<Tensor> ps = new ArrayList<>();
        private final List<Tensor> gs = new ArrayList<>();
        private final List<Tensor> ms = new ArrayList<>();
        private final List<Tensor> vs = new ArrayList<>();
        private final List<Tensor> ts = new ArrayList<>();

        void add(Tensor p, Tensor g, ParamState s) {
            ps.add(p);
            gs.add(g);
            ms.add(s.expAvg());
            vs.add(s.expAvgSq());
            ts.add(s.step());
        }

        void runOnDevice(Tensor lr, Tensor foundInf) {
            AutogradApi.fusedAdamWTensorLr_(handles(ps), handles(gs), handles(ms), handles(vs), handles(ts), lr.handle(), beta1, beta2,
                    weightDecay, eps, 0, foundInf == null ? 0 : foundInf.handle());
        }

        void run(double lr, Tensor foundInf) {
            AutogradApi.fusedAdamW_(handles(ps), handles(gs), handles(ms), handles(vs), handles(ts), lr, beta1, beta2,
                    weightDecay, eps, 0, foundInf == null ? 0 : foundInf.handle());
        }
    }

    private static long[] handles(List<Tensor> ts) {
        long[] r = new long[ts.size()];
        for (int i = 0; i < r.length; i++) r[i] = ts.get(i).handle();
        return r;
    }

    private ParamState stateOf(int i, Tensor p, Device d, boolean useFused) {
        if (state[i] == null) {
            long[] shape = p.shape();
            state[i] = new ParamState(Torch.zeros(shape, DType.F32, d).keep(), Torch.zeros(shape, DType.F32, d).keep(),
                    Torch.zeros(new long[0], DType.F32, useFused ? d : Device.CPU).keep());
        }
        return state[i];
    }

    /** m and v of every parameter that has state (the step counts aside), counted without copies. */
    @Override public long stateBytes() {
        long r = 0;
        for (ParamState s : state) {
            if (s != null) r += (s.expAvg().numel() + s.expAvgSq().numel()) * DType.F32.byteSize;
        }
        return r;
    }

    // ---- checkpoints ----

    /**
     * Copies of the state, keyed {@code <name>.exp_avg}, {@code <name>.exp_avg_sq} and
     * {@code <name>.step} (a 0-dim f32 tensor, as torch saves it), for every parameter that has
     * state. The copies belong to the caller (or to the caller's open scope).
     */
    @Override public Map<String, Tensor> stateDict() {
        checkOpen();
        Map<String, Tensor> r = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            ParamState s = state[i];
            if (s == null) continue;
            String n = params.get(i).name();
            r.put(n + EXP_AVG, s.expAvg().copy());
            r.put(n + EXP_AVG_SQ, s.expAvgSq().copy());
            r.put(n + STEP, s.step().copy());
        }
        return r;
    }

    /**
     * Replaces the whole state with copies of {@code dict} (as from {@link #stateDict}). Parameters
     * absent from it start fresh. Everything is checked before anything changes: unknown keys,
     * incomplete entries and shapes that differ from the parameter's are errors naming the key.
     */
    @Override public void loadStateDict(Map<String, Tensor> dict) {
        checkOpen();
        AdamSupport.checkKeys(dict, params, "<param>" + EXP_AVG + ", <param>" + EXP_AVG_SQ + " or <param>" + STEP, EXP_AVG_SQ, EXP_AVG, STEP);
        ParamState[] next = new ParamState[params.size()];
        try {
            for (int i = 0; i < params.size(); i++) {
                NamedParam np = params.get(i);
                String n = np.name();
                if (!dict.containsKey(n + EXP_AVG) && !dict.containsKey(n + EXP_AVG_SQ) && !dict.containsKey(n + STEP)) continue;
                long[] shape = np.tensor().shape();
                Tensor m = AdamSupport.require(dict, n + EXP_AVG, n);
                Tensor v = AdamSupport.require(dict, n + EXP_AVG_SQ, n);
                Tensor t = AdamSupport.require(dict, n + STEP, n);
                checkMoment(n + EXP_AVG, m, n, shape);
                checkMoment(n + EXP_AVG_SQ, v, n, shape);
                double steps = AdamSupport.steps(t, n + STEP);
                next[i] = ownedState(np.tensor().device(), shape, m, v, steps);
            }
        } catch (RuntimeException e) {
            for (ParamState s : next) if (s != null) s.close();
            throw e;
        }
        freeState();
        System.arraycopy(next, 0, state, 0, next.length);
    }

    private static void checkMoment(String key, Tensor t, String param, long[] shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("optimizer state '" + key + "' has shape " + Arrays.toString(t.shape())
                    + " but parameter '" + param + "' has shape " + Arrays.toString(shape));
        }
        if (!t.dtype().isFloatingPoint()) {
            throw new IllegalArgumentException("optimizer state '" + key + "' must be floating point, got " + t.dtype().displayName());
        }
    }

    private static ParamState ownedState(Device d, long[] shape, Tensor m, Tensor v, double steps) {
        Tensor mm = null;
        Tensor vv = null;
        try {
            mm = Torch.empty(shape, DType.F32, d).keep().copy_(m);
            vv = Torch.empty(shape, DType.F32, d).keep().copy_(v);
            Tensor t = Torch.full(new long[0], steps, DType.F32, fusesOn(d) ? d : Device.CPU).keep();
            return new ParamState(mm, vv, t);
        } catch (RuntimeException e) {
            if (mm != null) mm.close();
            if (vv != null) vv.close();
            throw e;
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("optimizer used after close");
    }

    private void freeState() { AdamSupport.free(state, ParamState::close); }

    /** Frees the optimizer state; the parameters stay the caller's. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        freeState();
    }
}
