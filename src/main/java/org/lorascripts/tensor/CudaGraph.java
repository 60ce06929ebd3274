package org.lorascripts.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.lorascripts.ffi.CudaApi;
import org.lorascripts.ffi.Status;

/**
 * A CUDA graph of a Java-written piece of work (a whole training step: forward, backward,
 * optimizer), captured once and replayed without any host work per kernel. The body runs on a side
 * stream, {@code warmup} times plainly and then once under capture; it must take its inputs from
 * tensors that outlive it (copy new data into them before {@link #replay}) and leave its results in
 * tensors that outlive it ({@link Tensor#keep}), must not read values back to the host
 * ({@code item()}), and must not create tensors on the CPU and copy them over. Every replay repeats
 * exactly the captured kernels, random draws included (with fresh random numbers: libtorch advances
 * the generator's offset per replay).
 */
public final class CudaGraph implements AutoCloseable {
    private static final ConcurrentHashMap<Long, Runnable> BODIES = new ConcurrentHashMap<>();
    private static final AtomicLong IDS = new AtomicLong();
    private static final MemorySegment UPCALL;

    static {
        try {
            var mh = MethodHandles.lookup().findStatic(CudaGraph.class, "invoke", MethodType.methodType(int.class, long.class));
            UPCALL = Linker.nativeLinker().upcallStub(mh, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private MemorySegment graph;

    private CudaGraph(MemorySegment graph) { this.graph = graph; }

    /** Whether this native layer can capture graphs (a CUDA build with its CUDA helpers). */
    public static boolean isAvailable() { return CudaApi.graphsAvailable() && Cuda.isAvailable(); }

    /** A memory pool that several graphs share: see {@link #capture(Device, int, Pool, Runnable)}. */
    public record Pool(long first, long second) {
        public static Pool create() {
            long[] id = CudaApi.graphPool();
            return new Pool(id[0], id[1]);
        }
    }

    public static CudaGraph capture(Device device, int warmup, Runnable body) { return capture(device, warmup, null, body); }

    /**
     * Captures {@code body} into {@code pool} (null: a pool of its own). Graphs may share a pool when
     * they never run concurrently and none leaves a tensor it allocated alive after its body (results
     * copied into tensors allocated before the capture): the memory of one step is then reused by all.
     */
    public static CudaGraph capture(Device device, int warmup, Pool pool, Runnable body) {
        if (device.type() != Device.Type.CUDA) throw new IllegalArgumentException("CUDA graphs need a CUDA device, got " + device);
        long id = IDS.incrementAndGet();
        BODIES.put(id, body);
        try {
            return new CudaGraph(CudaApi.graphCapture(device.index(), UPCALL, id, warmup,
                    pool == null ? new long[] {0, 0} : new long[] {pool.first(), pool.second()}));
        } finally {
            BODIES.remove(id);
        }
    }

    /** Runs the captured work again (asynchronously, on the current stream). */
    public void replay() {
        if (graph == null) throw new IllegalStateException("graph closed");
        CudaApi.graphReplay(graph);
    }

    @Override
    public void close() {
        if (graph == null) return;
        CudaApi.graphFree(graph);
        graph = null;
    }

    // Called from native code; must never throw.
    private static int invoke(long id) {
        try {
            Runnable body = BODIES.get(id);
            if (body == null) throw new IllegalStateException("graph body " + id + " is not registered");
            body.run();
            return 0;
        } catch (Throwable t) {
            Status.recordCallbackFailure(t);
            return 1;
        }
    }
}
