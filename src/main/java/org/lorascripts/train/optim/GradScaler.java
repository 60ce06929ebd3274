package org.lorascripts.train.optim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.LossScaling;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * fp16 dynamic loss scaling as {@code torch.cuda.amp.GradScaler}: the loss is multiplied by a large
 * scale so small fp16 gradients do not flush to zero; before the optimizer step the gradients are
 * divided back and checked for inf/nan; a step that found any is skipped and the scale backs off,
 * and after {@code growthInterval} good steps in a row the scale grows.
 *
 * <p>Per iteration: {@code backward(scale(loss))}, optionally {@link #unscale} (needed before
 * gradient clipping), {@link #step}, {@link #update}. A disabled scaler (bf16 or fp32 training) passes
 * everything through, so the loop needs no branch. Scale, growth tracker and the inf flag live on
 * the device of the gradients, as torch keeps them, and are freed by {@link #close}.
 */
public final class GradScaler implements AutoCloseable {
    public static final double DEFAULT_INIT_SCALE = 65536.0;
    public static final double DEFAULT_GROWTH = 2.0;
    public static final double DEFAULT_BACKOFF = 0.5;
    public static final long DEFAULT_GROWTH_INTERVAL = 2000;

    static final String SCALE = "scale";
    static final String GROWTH_TRACKER = "growth_tracker";
    static final String SKIPPED_STEPS = "skipped_steps";

    private final boolean enabled;
    private final double growth;
    private final double backoff;
    private final long growthInterval;
    private final Tensor scale;          // () f32
    private final Tensor growthTracker;  // () i32: good steps since the last change of scale
    private final Tensor foundInf;       // () f32: 1 once this iteration's unscale saw inf/nan
    private long skippedSteps;
    private boolean unscaled;
    private boolean stepped;
    private boolean closed;

    private GradScaler(boolean enabled, Device device, double initScale, double growth, double backoff, long growthInterval) {
        this.enabled = enabled;
        this.growth = growth;
        this.backoff = backoff;
        this.growthInterval = growthInterval;
        if (!enabled) {
            scale = growthTracker = foundInf = null;
            return;
        }
        if (!(initScale > 0) || Double.isInfinite(initScale)) throw new IllegalArgumentException("initial scale must be finite and > 0, got " + initScale);
        if (!(growth > 1)) throw new IllegalArgumentException("growth factor must be > 1, got " + growth);
        if (!(backoff > 0 && backoff < 1)) throw new IllegalArgumentException("backoff factor must be in (0, 1), got " + backoff);
        if (growthInterval < 1) throw new IllegalArgumentException("growth interval must be >= 1, got " + growthInterval);
        Tensor s = null;
        Tensor g = null;
        try {
            s = Torch.full(new long[0], initScale, DType.F32, device).keep();
            g = Torch.zeros(new long[0], DType.I32, device).keep();
            foundInf = Torch.zeros(new long[0], DType.F32, device).keep();
        } catch (RuntimeException e) {
            if (s != null) s.close();
            if (g != null) g.close();
            throw e;
        }
        scale = s;
        growthTracker = g;
    }

    /** torch's defaults: scale 65536, growth 2, backoff 0.5, growth interval 2000. */
    public static GradScaler enabled(Device device) {
        return enabled(device, DEFAULT_INIT_SCALE, DEFAULT_GROWTH, DEFAULT_BACKOFF, DEFAULT_GROWTH_INTERVAL);
    }

    public static GradScaler enabled(Device device, double initScale, double growth, double backoff, long growthInterval) {
        return new GradScaler(true, device, initScale, growth, backoff, growthInterval);
    }

    /** Passes through: scale(loss) is the loss, step always steps, the scale reads 1. */
    public static GradScaler disabled() {
        return new GradScaler(false, Device.CPU, 1, DEFAULT_GROWTH, DEFAULT_BACKOFF, DEFAULT_GROWTH_INTERVAL);
    }

    public boolean isEnabled() { return enabled; }

    /** loss · scale, a new tensor (in the caller's scope); the loss itself when disabled. */
    public Tensor scale(Tensor loss) {
        checkOpen();
        if (!enabled) return loss;
        return loss.mul(scale.device().equals(loss.device()) ? scale : scale.to(loss.device()));
    }

    /**
     * Divides the optimizer's gradients by the scale in place and records whether any held inf/nan.
     * At most once per iteration (a second division would shrink them again); {@link #step} calls it
     * when the loop did not.
     */
    public void unscale(Optimizer optimizer) {
        checkOpen();
        if (!enabled) return;
        if (unscaled) throw new IllegalStateException("unscale was already called since the last update()");
        if (stepped) throw new IllegalStateException("unscale after step: call update() first");
        try (Scope s = Scope.open()) {
            List<Tensor> grads = new ArrayList<>();
            for (Tensor p : optimizer.paramTensors()) {
                Tensor g = p.grad();
                if (g != null) grads.add(g);
            }
            // torch computes 1/scale in double and rounds once to f32
            Tensor invScale = scale.to(DType.F64).reciprocal().to(DType.F32);
            foundInf.zero_();
            if (!grads.isEmpty()) LossScaling.unscale(grads, foundInf, invScale);
        }
        unscaled = true;
    }

    /**
     * Unscales if needed, then steps the optimizer unless inf/nan was found. Returns whether it
     * stepped. Fused CUDA steps skip on the device; the returned flag still reads the one-element inf
     * flag back, after the step has been queued.
     */
    public boolean step(Optimizer optimizer, double lr) {
        checkOpen();
        if (!enabled) {
            optimizer.step(lr);
            return true;
        }
        if (stepped) throw new IllegalStateException("step was already called since the last update()");
        if (!unscaled) unscale(optimizer);
        optimizer.step(lr, foundInf);
        stepped = true;
        boolean skipped = foundInf.item() != 0;
        if (skipped) skippedSteps++;
        return !skipped;
    }

    /**
     * {@link #step} for a CUDA graph: the optimizer's device-only step, skipped on the device when
     * inf/nan was found, nothing read back ({@link #foundInf()} tells afterwards). Disabled: a plain
     * device step.
     */
    public void stepOnDevice(Optimizer optimizer, Tensor lr) {
        checkOpen();
        if (!enabled) {
            optimizer.stepOnDevice(lr, null);
            return;
        }
        if (stepped) throw new IllegalStateException("step was already called since the last update()");
        if (!unscaled) unscale(optimizer);
        optimizer.stepOnDevice(lr, foundInf);
        stepped = true;
    }

    /** This iteration's one-element f32 inf/nan flag (enabled scalers only; the scaler's own tensor). */
    public Tensor foundInf() {
        if (!enabled) throw new IllegalStateException("a disabled scaler keeps no inf flag");
        return foundInf;
    }

    /** Counts one skipped step found after the fact (device-only steps report skips later). */
    public void countSkipped() { skippedSteps++; }

    /** Adjusts the scale from this iteration's inf check (backoff on inf, growth after the interval). */
    public void update() {
        checkOpen();
        if (!enabled) return;
        if (!unscaled) throw new IllegalStateException("update() before any unscale/step in this iteration: no inf check was recorded");
        LossScaling.updateScale(scale, growthTracker, foundInf, growth, backoff, growthInterval);
        unscaled = false;
        stepped = false;
    }

    /** The current scale (1 when disabled); reads the device value. */
    public double scaleValue() {
        checkOpen();
        return enabled ? scale.item() : 1.0;
    }

    /** Optimizer steps skipped for inf/nan gradients since creation (or since the loaded checkpoint). */
    public long skippedSteps() { return skippedSteps; }

    /** {@code scale} (() f32), {@code growth_tracker} (() i32), {@code skipped_steps} (() i64); empty when disabled. */
    public Map<String, Tensor> stateDict() {
        checkOpen();
        Map<String, Tensor> r = new LinkedHashMap<>();
        if (!enabled) return r;
        r.put(SCALE, scale.copy());
        r.put(GROWTH_TRACKER, growthTracker.copy());
        r.put(SKIPPED_STEPS, Torch.full(new long[0], skippedSteps, DType.I64, Device.CPU));
        return r;
    }

    /** Restores a {@link #stateDict}; a disabled scaler ignores it. Every entry is checked before any is used. */
    public void loadStateDict(Map<String, Tensor> dict) {
        checkOpen();
        if (!enabled) return;
        for (String k : dict.keySet()) {
            if (!k.equals(SCALE) && !k.equals(GROWTH_TRACKER) && !k.equals(SKIPPED_STEPS)) {
                throw new IllegalArgumentException("unknown grad scaler state key '" + k + "' (expected " + SCALE + ", " + GROWTH_TRACKER + ", " + SKIPPED_STEPS + ")");
            }
        }
        double s = single(dict, SCALE);
        double g = single(dict, GROWTH_TRACKER);
        double k = single(dict, SKIPPED_STEPS);
        if (!(s > 0) || Double.isInfinite(s)) throw new IllegalArgumentException("grad scaler state '" + SCALE + "' must be finite and > 0, got " + s);
        if (!(g >= 0) || g != Math.rint(g)) throw new IllegalArgumentException("grad scaler state '" + GROWTH_TRACKER + "' must be a whole number >= 0, got " + g);
        if (!(k >= 0) || k != Math.rint(k)) throw new IllegalArgumentException("grad scaler state '" + SKIPPED_STEPS + "' must be a whole number >= 0, got " + k);
        scale.fill_(s);
        growthTracker.fill_(g);
        skippedSteps = (long) k;
        foundInf.zero_();
        unscaled = false;
        stepped = false;
    }

    private static double single(Map<String, Tensor> dict, String key) {
        Tensor t = dict.get(key);
        if (t == null) throw new IllegalArgumentException("grad scaler state is incomplete: '" + key + "' is missing");
        if (t.numel() != 1) throw new IllegalArgumentException("grad scaler state '" + key + "' must hold one value, got shape " + Arrays.toString(t.shape()));
        return t.item();
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("grad scaler used after close");
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        if (enabled) {
            scale.close();
            growthTracker.close();
            foundInf.close();
        }
    }
}
