package org.lorascripts.ffi;

import static org.lorascripts.ffi.Native.ADDR;
import static org.lorascripts.ffi.Native.F64;
import static org.lorascripts.ffi.Native.I32;
import static org.lorascripts.ffi.Native.I64;
import static org.lorascripts.ffi.Native.PTR;
import static org.lorascripts.ffi.Native.fn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** Bindings of native/ls_autograd.cpp: autograd, grad mode, autocast, RNG, checkpointing, AMP and optimizer kernels. */
public final class AutogradApi {
    private AutogradApi() {}

    private static final MethodHandle REQUIRES_GRAD_ = fn("ls_requires_grad_", PTR, I32);
    private static final MethodHandle REQUIRES_GRAD = fn("ls_requires_grad", PTR, ADDR);
    private static final MethodHandle IS_LEAF = fn("ls_is_leaf", PTR, ADDR);
    private static final MethodHandle GRAD = fn("ls_grad", PTR, ADDR);
    private static final MethodHandle SET_GRAD = fn("ls_set_grad", PTR, PTR);
    private static final MethodHandle DETACH = fn("ls_detach", PTR, ADDR);
    private static final MethodHandle DETACH_ = fn("ls_detach_", PTR);
    private static final MethodHandle BACKWARD = fn("ls_backward", PTR, PTR, I32);
    private static final MethodHandle AUTOGRAD_GRAD = fn("ls_autograd_grad", ADDR, I32, ADDR, ADDR, I32, I32, I32, ADDR);
    private static final MethodHandle GRAD_ENABLED = fn("ls_grad_enabled", ADDR);
    private static final MethodHandle SET_GRAD_ENABLED = fn("ls_set_grad_enabled", I32);
    private static final MethodHandle AUTOCAST_STATE = fn("ls_autocast_state", I32, ADDR, ADDR);
    private static final MethodHandle AUTOCAST_SET = fn("ls_autocast_set", I32, I32, I32);
    private static final MethodHandle AUTOCAST_INC = fn("ls_autocast_increment_nesting", ADDR);
    private static final MethodHandle AUTOCAST_DEC = fn("ls_autocast_decrement_nesting", ADDR);
    private static final MethodHandle MANUAL_SEED_ALL = fn("ls_manual_seed_all", I64);
    private static final MethodHandle MANUAL_SEED = fn("ls_manual_seed", I32, I32, I64);
    private static final MethodHandle RNG_GET = fn("ls_rng_get_state", I32, I32, ADDR);
    private static final MethodHandle RNG_SET = fn("ls_rng_set_state", I32, I32, PTR);
    private static final MethodHandle CHECKPOINT = fn("ls_checkpoint", ADDR, I64, ADDR, I32, ADDR, I32, ADDR, I32, ADDR);
    private static final MethodHandle CUSTOM_FUNCTION = fn("ls_custom_function", ADDR, I64, ADDR, I32, ADDR, I32, ADDR, I32, ADDR);
    private static final java.util.Optional<MethodHandle> SET_CUSTOM_RELEASE = Native.optionalFn("ls_set_custom_function_release", ADDR);
    private static final MethodHandle INJECT_GRAD = fn("ls_inject_grad", PTR, PTR, PTR, ADDR);
    private static final MethodHandle AMP_UNSCALE = fn("ls_amp_unscale_", ADDR, I32, PTR, PTR);
    private static final MethodHandle AMP_UPDATE = fn("ls_amp_update_scale_", PTR, PTR, PTR, F64, F64, I64);
    private static final MethodHandle HAS_FUSED_ADAMW = fn("ls_has_fused_adamw", ADDR);
    private static final MethodHandle FUSED_ADAMW = fn("ls_fused_adamw_", ADDR, ADDR, ADDR, ADDR, ADDR, I32, F64, F64, F64, F64, F64, PTR, PTR);
    private static final MethodHandle HAS_FUSED_ADAMW_TLR = fn("ls_has_fused_adamw_tensor_lr", ADDR);
    private static final MethodHandle FUSED_ADAMW_TLR = fn("ls_fused_adamw_tensor_lr_", ADDR, ADDR, ADDR, ADDR, ADDR, I32, PTR, F64, F64, F64, F64, PTR, PTR);
    private static final MethodHandle FOREACH_MUL_TENSOR_ = fn("ls_foreach_mul_tensor_", ADDR, I32, PTR);
    private static final MethodHandle FOREACH_NORM = fn("ls_foreach_norm", ADDR, I32, F64, ADDR);
    private static final MethodHandle FOREACH_MUL_SCALAR_ = fn("ls_foreach_mul_scalar_", ADDR, I32, F64);

    public static void requiresGrad_(long h, boolean on) {
        try { Status.check((int) REQUIRES_GRAD_.invokeExact(h, on ? 1 : 0)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static boolean requiresGrad(long h) { return Invoke.int_h(REQUIRES_GRAD, h) != 0; }
    public static boolean isLeaf(long h) { return Invoke.int_h(IS_LEAF, h) != 0; }
    /** 0 when the tensor has no gradient. */
    public static long grad(long h) { return Invoke.toH_h(GRAD, h); }
    public static void setGrad(long h, long g) { Invoke.run_hh(SET_GRAD, h, g); }
    public static long detach(long h) { return Invoke.toH_h(DETACH, h); }
    public static void detach_(long h) { Invoke.run_h(DETACH_, h); }

    public static void backward(long h, long grad, boolean retainGraph) {
        try { Status.check((int) BACKWARD.invokeExact(h, grad, retainGraph ? 1 : 0)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Gradients of outputs w.r.t. inputs; entries are 0 where an input is unused. gradOutputs may be null. */
    public static long[] grad(long[] outputs, long[] gradOutputs, long[] inputs, boolean retain, boolean create) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment outs = a.allocateFrom(ValueLayout.JAVA_LONG, outputs);
            MemorySegment gos = gradOutputs == null ? MemorySegment.NULL : a.allocateFrom(ValueLayout.JAVA_LONG, gradOutputs);
            MemorySegment ins = a.allocateFrom(ValueLayout.JAVA_LONG, inputs);
            MemorySegment res = a.allocate(ValueLayout.JAVA_LONG, Math.max(1, inputs.length));
            Status.check((int) AUTOGRAD_GRAD.invokeExact(outs, outputs.length, gos, ins, inputs.length, retain ? 1 : 0, create ? 1 : 0, res));
            long[] r = new long[inputs.length];
            MemorySegment.copy(res, ValueLayout.JAVA_LONG, 0, r, 0, inputs.length);
            return r;
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static boolean gradEnabled() { return Invoke.int_(GRAD_ENABLED) != 0; }

    public static void setGradEnabled(boolean on) {
        try { Status.check((int) SET_GRAD_ENABLED.invokeExact(on ? 1 : 0)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** {enabled (0/1), dtype code}. */
    public static int[] autocastState(int devType) {
        Scratch s = Scratch.get();
        try { Status.check((int) AUTOCAST_STATE.invokeExact(devType, s.outSlot(0), s.outSlot(1))); } catch (Throwable t) { throw Calls.rethrow(t); }
        return new int[] {s.outInt(0), s.outInt(1)};
    }

    public static void autocastSet(int devType, boolean enabled, int dtype) {
        try { Status.check((int) AUTOCAST_SET.invokeExact(devType, enabled ? 1 : 0, dtype)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static int autocastIncrementNesting() { return Invoke.int_(AUTOCAST_INC); }
    public static int autocastDecrementNesting() { return Invoke.int_(AUTOCAST_DEC); }

    public static void manualSeedAll(long seed) {
        try { Status.check((int) MANUAL_SEED_ALL.invokeExact(seed)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void manualSeed(int devType, int devIndex, long seed) {
        try { Status.check((int) MANUAL_SEED.invokeExact(devType, devIndex, seed)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static long rngGetState(int devType, int devIndex) {
        MemorySegment out = Scratch.get().out;
        try { Status.check((int) RNG_GET.invokeExact(devType, devIndex, out)); } catch (Throwable t) { throw Calls.rethrow(t); }
        return Scratch.get().outHandle(0);
    }

    public static void rngSetState(int devType, int devIndex, long state) {
        try { Status.check((int) RNG_SET.invokeExact(devType, devIndex, state)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /**
     * Runs a checkpointed segment. Uses its own native memory, not the thread's scratch, because the
     * segment calls back into Java (which uses the scratch) while this call is still in flight.
     */
    public static long[] checkpoint(MemorySegment upcall, long id, long[] inputs, long[] params, int maxOutputs) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(ValueLayout.JAVA_LONG, inputs.length == 0 ? new long[1] : inputs);
            MemorySegment ps = a.allocateFrom(ValueLayout.JAVA_LONG, params.length == 0 ? new long[1] : params);
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG, maxOutputs);
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            Status.check((int) CHECKPOINT.invokeExact(upcall, id, in, inputs.length, ps, params.length, out, maxOutputs, n));
            int count = n.get(ValueLayout.JAVA_INT, 0);
            long[] r = new long[count];
            MemorySegment.copy(out, ValueLayout.JAVA_LONG, 0, r, 0, count);
            return r;
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /**
     * Ties {@code outputs} (computed without history) to {@code inputs} through a node whose backward is
     * the upcall {@code backward(id, grads, saved)}; returns new handles of the outputs, now with history.
     * Own native memory, like {@link #checkpoint}.
     */
    public static long[] customFunction(MemorySegment backward, long id, long[] inputs, long[] outputs, long[] saved) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(ValueLayout.JAVA_LONG, inputs.length == 0 ? new long[1] : inputs);
            MemorySegment out = a.allocateFrom(ValueLayout.JAVA_LONG, outputs.length == 0 ? new long[1] : outputs);
            MemorySegment sv = a.allocateFrom(ValueLayout.JAVA_LONG, saved.length == 0 ? new long[1] : saved);
            MemorySegment result = a.allocate(ValueLayout.JAVA_LONG, Math.max(1, outputs.length));
            Status.check((int) CUSTOM_FUNCTION.invokeExact(backward, id, in, inputs.length, out, outputs.length, sv, saved.length, result));
            long[] r = new long[outputs.length];
            MemorySegment.copy(result, ValueLayout.JAVA_LONG, 0, r, 0, outputs.length);
            return r;
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /**
     * Sets the upcall {@code release(id)} that each custom-function node makes when it is destroyed (after its
     * backward, or with a graph freed without one); false where the shim lacks it.
     */
    public static boolean setCustomFunctionRelease(MemorySegment release) {
        if (SET_CUSTOM_RELEASE.isEmpty()) return false;
        try {
            Status.check((int) SET_CUSTOM_RELEASE.get().invokeExact(release));
            return true;
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** A copy of value whose backward sends gradOut * grad to input (grad has input's shape). */
    public static long injectGrad(long value, long input, long grad) { return Invoke.toH_hhh(INJECT_GRAD, value, input, grad); }

    public static void ampUnscale_(long[] grads, long foundInf, long invScale) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment gs = a.allocateFrom(ValueLayout.JAVA_LONG, grads.length == 0 ? new long[1] : grads);
            Status.check((int) AMP_UNSCALE.invokeExact(gs, grads.length, foundInf, invScale));
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static void ampUpdateScale_(long scale, long growthTracker, long foundInf, double growth, double backoff, long interval) {
        try { Status.check((int) AMP_UPDATE.invokeExact(scale, growthTracker, foundInf, growth, backoff, interval)); } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static boolean hasFusedAdamW() { return Invoke.int_(HAS_FUSED_ADAMW) != 0; }

    public static void fusedAdamW_(long[] params, long[] grads, long[] expAvg, long[] expAvgSq, long[] steps, double lr,
                                   double beta1, double beta2, double weightDecay, double eps, long gradScale, long foundInf) {
        try (Arena a = Arena.ofConfined()) {
            Status.check((int) FUSED_ADAMW.invokeExact(a.allocateFrom(ValueLayout.JAVA_LONG, params), a.allocateFrom(ValueLayout.JAVA_LONG, grads),
                    a.allocateFrom(ValueLayout.JAVA_LONG, expAvg), a.allocateFrom(ValueLayout.JAVA_LONG, expAvgSq),
                    a.allocateFrom(ValueLayout.JAVA_LONG, steps), params.length, lr, beta1, beta2, weightDecay, eps, gradScale, foundInf));
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Whether the fused AdamW can take its learning rate from a device tensor (libtorch 2.4+). */
    public static boolean hasFusedAdamWTensorLr() { return Invoke.int_(HAS_FUSED_ADAMW_TLR) != 0; }

    /** {@link #fusedAdamW_} with the learning rate read from a one-element f32 tensor on the parameters' device. */
    public static void fusedAdamWTensorLr_(long[] params, long[] grads, long[] expAvg, long[] expAvgSq, long[] steps, long lr,
                                           double beta1, double beta2, double weightDecay, double eps, long gradScale, long foundInf) {
        try (Arena a = Arena.ofConfined()) {
            Status.check((int) FUSED_ADAMW_TLR.invokeExact(a.allocateFrom(ValueLayout.JAVA_LONG, params), a.allocateFrom(ValueLayout.JAVA_LONG, grads),
                    a.allocateFrom(ValueLayout.JAVA_LONG, expAvg), a.allocateFrom(ValueLayout.JAVA_LONG, expAvgSq),
                    a.allocateFrom(ValueLayout.JAVA_LONG, steps), params.length, lr, beta1, beta2, weightDecay, eps, gradScale, foundInf));
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Every tensor *= factor (a one-element tensor) in place, nothing read back to the host. */
    public static void foreachMulTensor_(long[] ts, long factor) {
        if (ts.length == 0) return;
        try (Arena a = Arena.ofConfined()) {
            Status.check((int) FOREACH_MUL_TENSOR_.invokeExact(a.allocateFrom(ValueLayout.JAVA_LONG, ts), ts.length, factor));
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Every tensor *= s in place (one multi-tensor kernel on CUDA). */
    public static void foreachMulScalar_(long[] ts, double s) {
        if (ts.length == 0) return;
        try (Arena a = Arena.ofConfined()) {
            Status.check((int) FOREACH_MUL_SCALAR_.invokeExact(a.allocateFrom(ValueLayout.JAVA_LONG, ts), ts.length, s));
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    public static long[] foreachNorm(long[] ts, double p) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment in = a.allocateFrom(ValueLayout.JAVA_LONG, ts);
            MemorySegment out = a.allocate(ValueLayout.JAVA_LONG, ts.length);
            Status.check((int) FOREACH_NORM.invokeExact(in, ts.length, p, out));
            long[] r = new long[ts.length];
            MemorySegment.copy(out, ValueLayout.JAVA_LONG, 0, r, 0, ts.length);
            return r;
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }
}
