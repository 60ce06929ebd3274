package org.lorascripts.lora;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.function.Function;
import org.lorascripts.tensor.Profiler;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/** Test helper: the CPU bytes a forward leaves allocated until its backward (outputs and what autograd saved). */
final class HeldAfterForward {
    private HeldAfterForward() {}

    /**
     * Runs {@code forward} in a scope of its own under the memory profiler (its temporaries close with the scope; the
     * outputs it returns are kept), sums the bytes still allocated at the end, then runs backward over the outputs'
     * sums so that no operation is left pending. Skips the test where libtorch has no Kineto (Debian's 1.13).
     */
    static long bytes(Function<Scope, List<Tensor>> forward) {
        assumeTrue(Profiler.isMemoryAvailable(), "native layer without the memory profiler");
        List<Tensor> outs;
        List<Profiler.MemoryEvent> events;
        try (Profiler p = Profiler.startWithMemory(false)) {
            try (Scope f = Scope.open()) {
                outs = forward.apply(f).stream().map(f::moveToOuter).toList();
            }
            try {
                p.stop(null);
            } catch (RuntimeException e) {
                backward(outs);
                assumeTrue(!String.valueOf(e.getMessage()).contains("Kineto"), "libtorch without Kineto");
                throw e;
            }
            events = p.memoryEvents();
        }
        long held = 0;
        for (Profiler.MemoryEvent e : events) if (e.device() == 0) held += e.bytes();
        backward(outs);
        return held;
    }

    private static void backward(List<Tensor> outs) {
        Tensor total = null;
        for (Tensor o : outs) total = total == null ? o.sum() : total.add(o.sum());
        total.backward();
    }
}
