package org.lorascripts.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.lorascripts.ffi.AutogradApi;
import org.lorascripts.ffi.Status;
import org.lorascripts.ffi.TensorApi;

/**
 * Gradient checkpointing of a Java-defined segment: the forward pass keeps only the segment's
 * inputs; backward re-runs the segment (same RNG state, so dropout repeats) and differentiates it.
 * The segment is called from native code through an upcall stub, possibly on an autograd worker
 * thread, inside a scope of its own. {@code params} are the trainable tensors the segment uses:
 * they receive gradients like any leaf. One backward per forward (no retain_graph).
 */
public final class Checkpoint {
    private Checkpoint() {}

    @FunctionalInterface
    public interface Segment {
        List<Tensor> apply(List<Tensor> inputs);
    }

    /**
     * A segment told whether this run is its recompute for backward. The outputs of that run only carry gradients
     * (the outer graph holds their values from the forward run), so the segment may skip work whose only use is an
     * output's value: a last projection's frozen product, say, as long as the gradients it sends stay the same.
     */
    @FunctionalInterface
    public interface RecomputeAware {
        List<Tensor> apply(List<Tensor> inputs, boolean recompute);
    }

    private static final class Entry {
        final RecomputeAware fn;
        int calls;
        Entry(RecomputeAware fn) { this.fn = fn; }
    }

    private static final ConcurrentHashMap<Long, Entry> SEGMENTS = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();
    private static final MemorySegment UPCALL;

    static {
        try {
            var mh = MethodHandles.lookup().findStatic(Checkpoint.class, "invoke", MethodType.methodType(int.class,
                    long.class, MemorySegment.class, int.class, MemorySegment.class, int.class, MemorySegment.class));
            UPCALL = Linker.nativeLinker().upcallStub(mh, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS), Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Runs {@code fn(inputs)} checkpointed; falls back to a plain call when nothing needs gradients. */
    public static List<Tensor> apply(Segment fn, List<Tensor> inputs, List<Tensor> params, int maxOutputs) {
        return applyAware((in, recompute) -> fn.apply(in), inputs, params, maxOutputs);
    }

    /** As {@link #apply}, telling {@code fn} which run is the recompute for backward. */
    public static List<Tensor> applyAware(RecomputeAware fn, List<Tensor> inputs, List<Tensor> params, int maxOutputs) {
        if (!Autograd.isGradEnabled() || !anyRequiresGrad(inputs, params)) return fn.apply(inputs, false);
        long id = IDS.incrementAndGet();
        SEGMENTS.put(id, new Entry(fn));
        try {
            return Tensor.wrapAll(AutogradApi.checkpoint(UPCALL, id, Torch.handles(inputs), Torch.handles(params), maxOutputs));
        } catch (RuntimeException e) {
            SEGMENTS.remove(id);
            throw e;
        }
    }

    /** Segments run forward whose backward has not run yet (for leak checks). */
    public static int pendingSegments() { return SEGMENTS.size(); }

    private static boolean anyRequiresGrad(List<Tensor> inputs, List<Tensor> params) {
        for (Tensor t : inputs) if (t.requiresGrad()) return true;
        for (Tensor t : params) if (t.requiresGrad()) return true;
        return false;
    }

    // Called from native code; must never throw (an exception escaping an upcall ends the JVM).
    private static int invoke(long id, MemorySegment inputs, int nIn, MemorySegment outputs, int cap, MemorySegment nOut) {
        try (Scope scope = Scope.open()) {
            Entry e = SEGMENTS.get(id);
            if (e == null) throw new IllegalStateException("checkpointed segment " + id + " is no longer registered (backward ran twice?)");
            MemorySegment in = inputs.reinterpret(8L * nIn);
            List<Tensor> args = new ArrayList<>(nIn);
            for (int i = 0; i < nIn; i++) args.add(Tensor.wrap(TensorApi.shallowCopy(in.getAtIndex(ValueLayout.JAVA_LONG, i))));
            List<Tensor> result = e.fn.apply(args, e.calls == 1);
            if (result.size() > cap) throw new IllegalStateException("segment returned " + result.size() + " tensors, at most " + cap + " expected");
            MemorySegment out = outputs.reinterpret(8L * cap);
            for (int i = 0; i < result.size(); i++) out.setAtIndex(ValueLayout.JAVA_LONG, i, TensorApi.shallowCopy(result.get(i).handle()));
            nOut.reinterpret(4).set(ValueLayout.JAVA_INT, 0, result.size());
            if (++e.calls >= 2) SEGMENTS.remove(id);
            return 0;
        } catch (Throwable t) {
            Status.recordCallbackFailure(t);
            return 1;
        }
    }
}
