package org.lorascripts.train.optim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * The shared frame of the optimizers composed from in-place tensor ops: parameter checks, per
 * parameter state slots created on the first step, a host-side step count per parameter, the fp16
 * skip, and a name-keyed state dict ({@code <param>.<slot>}, {@code <param>.step} as a 0-dim f32
 * tensor as torch saves it, and optimizer-wide numbers under {@code optimizer.<key>} as 0-dim f64).
 */
abstract class ComposedOptimizer implements Optimizer {
    static final String STEP = "step";
    static final String GLOBAL = "optimizer.";

    /** One state tensor of a parameter: zeros of {@code shape}, or a copy of the parameter. */
    record Slot(String name, long[] shape, boolean copyOfParam) {
        static Slot zeros(String name, long[] shape) { return new Slot(name, shape, false); }
    }

    private final String displayName;
    protected final List<NamedParam> params;
    private final Map<String, Tensor>[] state;
    private final long[] steps;
    private boolean closed;

    @SuppressWarnings("unchecked")
    ComposedOptimizer(String displayName, List<NamedParam> params) {
        this.displayName = displayName;
        Map<String, Boolean> names = new HashMap<>();
        for (NamedParam p : params) {
            if (names.put(p.name(), Boolean.TRUE) != null) throw new IllegalArgumentException("parameter name '" + p.name() + "' is registered twice");
            if (p.name().equals("optimizer")) throw new IllegalArgumentException("'optimizer' is reserved for optimizer-wide state; rename the parameter");
            DType dt = p.tensor().dtype();
            if (dt != DType.F32) {
                throw new IllegalArgumentException(displayName + " needs float32 parameters (fp32 master weights); '" + p.name()
                        + "' is " + dt.displayName() + ". Keep an f32 copy for training and cast it for the forward pass.");
            }
        }
        this.params = List.copyOf(params);
        this.state = new Map[this.params.size()];
        this.steps = new long[this.params.size()];
    }

    static void check(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    @Override public List<NamedParam> params() { return params; }

    /** The state slots of a parameter of this shape (the step count is kept apart). */
    abstract List<Slot> slots(long[] shape);

    /**
     * Updates one parameter in place. {@code step} is its step count including this one (1-based);
     * {@code lr} is the scheduled rate times the parameter's {@code lrScale}.
     */
    abstract void update(Tensor p, Tensor g, Map<String, Tensor> s, long step, double lr, double lrScale);

    /** Optimizer-wide numbers to save (Prodigy's d); empty by default. */
    Map<String, Double> globalState() { return Map.of(); }

    /** Restores {@link #globalState} ({@code saved} is empty for a fresh start). */
    void loadGlobalState(Map<String, Double> saved) {}

    /** Steps every parameter with a gradient, in order; Prodigy overrides it for its two passes. */
    void stepActive(double lr, List<Integer> active) {
        for (int i : active) {
            Map<String, Tensor> s = stateOf(i);
            steps[i]++;
            NamedParam np = params.get(i);
            update(np.tensor(), np.tensor().grad(), s, steps[i], lr * np.lrScale(), np.lrScale());
        }
    }

    long stepOf(int i) { return steps[i]; }

    void advance(int i) { steps[i]++; }

    @Override public final void step(double lr, Tensor foundInf) {
        checkOpen();
        if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        try (Scope scope = Scope.open(); Autograd.GradMode noGrad = Autograd.noGrad()) {
            if (foundInf != null && foundInf.item() != 0) return;
            List<Integer> active = new ArrayList<>();
            for (int i = 0; i < params.size(); i++) if (params.get(i).tensor().grad() != null) active.add(i);
            stepActive(lr, active);
        }
    }

    @Override public void zeroGrad() {
        checkOpen();
        Optimizer.super.zeroGrad();
    }

    Map<String, Tensor> stateOf(int i) {
        if (state[i] == null) {
            Tensor p = params.get(i).tensor();
            Map<String, Tensor> m = new LinkedHashMap<>();
            try {
                for (Slot sl : slots(p.shape())) {
                    m.put(sl.name(), sl.copyOfParam() ? Torch.empty(sl.shape(), DType.F32, p.device()).keep().copy_(p)
                            : Torch.zeros(sl.shape(), DType.F32, p.device()).keep());
                }
            } catch (RuntimeException e) {
                m.values().forEach(Tensor::close);
                throw e;
            }
            state[i] = m;
            steps[i] = 0;
        }
        return state[i];
    }

    // ---- checkpoints ----

    /** The per-parameter state tensors' bytes, counted without copying them. */
    @Override public long stateBytes() {
        long r = 0;
        for (Map<String, Tensor> m : state) {
            if (m == null) continue;
            for (Tensor t : m.values()) r += t.numel() * t.dtype().byteSize;
        }
        return r;
    }

    @Override public Map<String, Tensor> stateDict() {
        checkOpen();
        Map<String, Tensor> r = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            if (state[i] == null) continue;
            String n = params.get(i).name();
            for (Map.Entry<String, Tensor> e : state[i].entrySet()) r.put(n + "." + e.getKey(), e.getValue().copy());
            r.put(n + "." + STEP, Torch.full(new long[0], steps[i], DType.F32, Device.CPU));
        }
        for (Map.Entry<String, Double> e : globalState().entrySet()) {
            r.put(GLOBAL + e.getKey(), Torch.full(new long[0], e.getValue(), DType.F64, Device.CPU));
        }
        return r;
    }

    @Override public void loadStateDict(Map<String, Tensor> dict) {
        checkOpen();
        Set<String> globals = globalState().keySet();
        Map<String, Integer> owner = new HashMap<>();
        for (int i = 0; i < params.size(); i++) {
            String n = params.get(i).name();
            for (Slot sl : slots(params.get(i).tensor().shape())) owner.put(n + "." + sl.name(), i);
            owner.put(n + "." + STEP, i);
        }
        Map<String, Double> savedGlobals = new HashMap<>();
        for (String key : dict.keySet()) {
            if (key.startsWith(GLOBAL) && globals.contains(key.substring(GLOBAL.length()))) {
                Tensor t = dict.get(key);
                check(t.numel() == 1, "optimizer state '" + key + "' must hold one value, got shape " + Arrays.toString(t.shape()));
                savedGlobals.put(key.substring(GLOBAL.length()), t.to(DType.F64).item());
                continue;
            }
            if (!owner.containsKey(key)) {
                Set<String> kinds = new TreeSet<>();
                for (String k : owner.keySet()) kinds.add(k.substring(k.lastIndexOf('.')));
                for (String g : globals) kinds.add(GLOBAL + g);
                throw new IllegalArgumentException("unknown optimizer state key '" + key + "' for " + displayName
                        + " (expected <param>" + String.join(", <param>", kinds) + ")");
            }
        }
        if (!globals.isEmpty() && !dict.isEmpty() && !savedGlobals.keySet().containsAll(globals)) {
            throw new IllegalArgumentException(displayName + " state is incomplete: the optimizer-wide entries " + GLOBAL + globals + " are missing");
        }
        @SuppressWarnings("unchecked")
        Map<String, Tensor>[] next = new Map[params.size()];
        long[] nextSteps = new long[params.size()];
        try {
            for (int i = 0; i < params.size(); i++) {
                NamedParam np = params.get(i);
                String n = np.name();
                List<Slot> sls = slots(np.tensor().shape());
                boolean any = dict.containsKey(n + "." + STEP);
                for (Slot sl : sls) any |= dict.containsKey(n + "." + sl.name());
                if (!any) continue;
                Tensor t = dict.get(n + "." + STEP);
                check(t != null, "optimizer state for '" + n + "' is incomplete: '" + n + "." + STEP + "' is missing");
                check(t.numel() == 1, "optimizer state '" + n + "." + STEP + "' must hold one value, got shape " + Arrays.toString(t.shape()));
                double st = t.item();
                check(st >= 0 && st == Math.rint(st), "optimizer state '" + n + "." + STEP + "' must be a whole number >= 0, got " + st);
                Map<String, Tensor> m = new LinkedHashMap<>();
                next[i] = m;
                nextSteps[i] = (long) st;
                for (Slot sl : sls) {
                    String key = n + "." + sl.name();
                    Tensor v = dict.get(key);
                    check(v != null, "optimizer state for '" + n + "' is incomplete: '" + key + "' is missing");
                    check(Arrays.equals(v.shape(), sl.shape()), "optimizer state '" + key + "' has shape " + Arrays.toString(v.shape())
                            + " but " + displayName + " keeps " + Arrays.toString(sl.shape()) + " for parameter '" + n + "'");
                    check(v.dtype().isFloatingPoint(), "optimizer state '" + key + "' must be floating point, got " + v.dtype().displayName());
                    m.put(sl.name(), Torch.empty(sl.shape(), DType.F32, np.tensor().device()).keep().copy_(v));
                }
            }
        } catch (RuntimeException e) {
            for (Map<String, Tensor> m : next) if (m != null) m.values().forEach(Tensor::close);
            throw e;
        }
        freeState();
        System.arraycopy(next, 0, state, 0, next.length);
        System.arraycopy(nextSteps, 0, steps, 0, nextSteps.length);
        loadGlobalState(savedGlobals);
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("optimizer used after close");
    }

    private void freeState() {
        for (int i = 0; i < state.length; i++) {
            if (state[i] != null) {
                state[i].values().forEach(Tensor::close);
                state[i] = null;
            }
            steps[i] = 0;
        }
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        freeState();
    }
}
