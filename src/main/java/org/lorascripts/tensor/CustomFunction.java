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
 * An operation with a hand-written backward (torch.autograd.Function's role), for fused kernels: the
 * caller computes the outputs without autograd history and names the tensors backward needs; {@link #apply}
 * returns the outputs tied to the inputs, and backward calls {@link Backward#grads} (from native code, possibly
 * on an autograd worker thread, inside a scope of its own) with the outputs' gradients and the saved tensors.
 * One backward per forward (no retain_graph). Without grad mode or an input that requires grad, the outputs
 * are returned as they are.
 */
public final class CustomFunction {
    private CustomFunction() {}

    @FunctionalInterface
    public interface Backward {
        /**
         * @param gradOutputs one gradient per output (zeros where an output got none)
         * @param saved       the saved tensors, in the order given to {@link #apply}
         * @return one gradient per input, null where an input gets none
         */
        List<Tensor> grads(List<Tensor> gradOutputs, List<Tensor> saved);
    }

    private static final ConcurrentHashMap<Long, Backward> PENDING = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();
    private static final MemorySegment UPCALL;

    static {
        try {
            var mh = MethodHandles.lookup().findStatic(CustomFunction.class, "invoke", MethodType.methodType(int.class,
                    long.class, MemorySegment.class, int.class, MemorySegment.class, int.class, MemorySegment.class, int.class));
            UPCALL = Linker.nativeLinker().upcallStub(mh, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_INT), Arena.global());
            // a node destroyed without its backward (a forward whose graph was dropped) releases its entry
            var release = MethodHandles.lookup().findStatic(CustomFunction.class, "release", MethodType.methodType(void.class, long.class));
            AutogradApi.setCustomFunctionRelease(Linker.nativeLinker().upcallStub(release,
                    FunctionDescriptor.ofVoid(ValueLayout.JAVA_LONG), Arena.global()));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // Called from native code when a node is destroyed; a no-op after its backward ran. Must never throw.
    private static void release(long id) {
        PENDING.remove(id);
    }

    public static List<Tensor> apply(Backward backward, List<Tensor> inputs, List<Tensor> outputs, List<Tensor> saved) {
        boolean needed = Autograd.isGradEnabled() && inputs.stream().anyMatch(Tensor::requiresGrad);
        if (!needed) return outputs;
        long id = IDS.incrementAndGet();
        PENDING.put(id, backward);
        try {
            return Tensor.wrapAll(AutogradApi.customFunction(UPCALL, id, Torch.handles(inputs), Torch.handles(outputs), Torch.handles(saved)));
        } catch (RuntimeException e) {
            PENDING.remove(id);
            throw e;
        }
    }

    /** A mark for {@link #pendingSince}: the id of the newest operation so far. */
    public static long mark() { return IDS.get(); }

    /**
     * The operations made after {@code mark} whose backward has not run yet and whose graph is still alive: unmoved by
     * older graphs that the garbage collector frees meanwhile.
     */
    public static int pendingSince(long mark) { return (int) PENDING.keySet().stream().filter(id -> id > mark).count(); }

    // Called from native code; must never throw (an exception escaping an upcall ends the JVM).
    private static int invoke(long id, MemorySegment grads, int nGrads, MemorySegment saved, int nSaved, MemorySegment out, int nOut) {
        try (Scope scope = Scope.open()) {
            Backward b = PENDING.remove(id);
            if (b == null) throw new IllegalStateException("custom operation " + id + " is no longer registered (backward ran twice?)");
            MemorySegment g = grads.reinterpret(8L * Math.max(1, nGrads));
            MemorySegment s = saved.reinterpret(8L * Math.max(1, nSaved));
            List<Tensor> gl = new ArrayList<>(nGrads), sl = new ArrayList<>(nSaved);
            for (int i = 0; i < nGrads; i++) {
                long h = g.getAtIndex(ValueLayout.JAVA_LONG, i);
                gl.add(h == 0 ? null : Tensor.wrap(TensorApi.shallowCopy(h)));
            }
            for (int i = 0; i < nSaved; i++) sl.add(Tensor.wrap(TensorApi.shallowCopy(s.getAtIndex(ValueLayout.JAVA_LONG, i))));
            List<Tensor> result = b.grads(gl, sl);
            if (result.size() != nOut) throw new IllegalStateException("backward returned " + result.size() + " gradients for " + nOut + " inputs");
            MemorySegment o = out.reinterpret(8L * Math.max(1, nOut));
            for (int i = 0; i < nOut; i++) {
                Tensor r = result.get(i);
                o.setAtIndex(ValueLayout.JAVA_LONG, i, r == null ? 0 : TensorApi.shallowCopy(r.handle()));
            }
            return 0;
        } catch (Throwable t) {
            Status.recordCallbackFailure(t);
            return 1;
        }
    }
}
