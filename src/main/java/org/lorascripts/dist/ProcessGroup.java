package org.lorascripts.dist;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.lorascripts.ffi.DistApi;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * One process's membership of a data-parallel job, over libtorch's c10d (native/ls_dist.cpp): rank 0 serves
 * a TCPStore at MASTER_ADDR:MASTER_PORT, every rank connects to it, and the ranks open a Gloo process group
 * (the CPU; CUDA tensors are staged through host memory) or an NCCL one (CUDA builds). Collectives are in place
 * and blocking; each is bounded by the group's timeout, so a rank that died or hangs surfaces as a
 * {@link DistributedException} on the others instead of a hang (a dead peer's closed connection is seen at once,
 * a silent one after the timeout). Every rank must call the same collectives in the same order with tensors of
 * the same shapes and dtypes.
 */
public final class ProcessGroup implements AutoCloseable {
    /** Which c10d backend carries the collectives. */
    public enum Backend {
        GLOO, NCCL;

        public String nativeName() { return name().toLowerCase(Locale.ROOT); }
    }

    /** Tensors are flattened into buckets of about this size per collective, as DDP's bucket_cap_mb (25 MiB). */
    public static final long BUCKET_BYTES = 25L << 20;

    /** The first bucket of a sum overlapping backward is smaller, so backward's first gradients leave early (DDP's 1 MiB). */
    public static final long FIRST_BUCKET_BYTES = 1L << 20;

    private final DistEnv env;
    private final Backend backend;
    private final Duration timeout;
    private long handle;
    private final List<Overlap> overlaps = new ArrayList<>();

    private ProcessGroup(DistEnv env, Backend backend, Duration timeout, long handle) {
        this.env = env;
        this.backend = backend;
        this.timeout = timeout;
        this.handle = handle;
    }

    /** Whether this build of the native shim can join a group at all (it was compiled with c10d and gloo). */
    public static boolean available() { return DistApi.available(); }

    /** Whether the NCCL backend is in this build (a CUDA libtorch with NCCL headers). */
    public static boolean ncclAvailable() { return DistApi.available() && DistApi.ncclAvailable(); }

    /**
     * Joins the job: blocks until all WORLD_SIZE ranks have reached the store (at most {@code timeout}), then
     * builds the process group. {@code timeout} also bounds every later collective.
     */
    public static ProcessGroup join(DistEnv env, Backend backend, Duration timeout) {
        if (!DistApi.available()) {
            throw new DistributedException("this build of the native shim has no distributed training (c10d with gloo);"
                    + " install gloo's headers ('apt-get install libgloo-dev'), then run again so the shim is rebuilt");
        }
        if (backend == Backend.NCCL && !DistApi.ncclAvailable()) {
            throw new DistributedException("the NCCL backend is not in this build of the native shim (a CPU libtorch, or a CUDA one"
                    + " without NCCL headers); use the gloo backend");
        }
        try {
            long h = DistApi.init(env.masterAddr(), env.masterPort(), env.rank(), env.worldSize(), backend.nativeName(), timeout.toMillis());
            return new ProcessGroup(env, backend, timeout, h);
        } catch (RuntimeException e) {
            throw new DistributedException("rank " + env.rank() + " of " + env.worldSize() + " could not join the group at "
                    + env.masterAddr() + ":" + env.masterPort() + " within " + timeout.toSeconds() + " s (" + firstLine(e.getMessage())
                    + "); check that every rank was started with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE and that rank 0 is up", e);
        }
    }

    public int rank() { return env.rank(); }

    public int worldSize() { return env.worldSize(); }

    public int localRank() { return env.localRank(); }

    public DistEnv env() { return env; }

    public Backend backend() { return backend; }

    public Duration timeout() { return timeout; }

    /** Sums the tensors over all ranks, in place. */
    public void allReduceSum(List<Tensor> tensors) { allReduce(tensors, 1.0); }

    /** Averages the tensors over all ranks, in place (the sum times 1 / world size). */
    public void allReduceMean(List<Tensor> tensors) { allReduce(tensors, 1.0 / worldSize()); }

    /** Sums each value over all ranks (in double precision). */
    public double[] allReduceSum(double... values) {
        try (Scope s = Scope.open()) {
            Tensor t = Torch.of(values.clone(), values.length);
            // NCCL reduces device memory only: the values travel on this rank's GPU
            Tensor onDevice = backend == Backend.NCCL ? t.to(DType.F64, Device.cuda(localRank())) : t;
            allReduce(List.of(onDevice), 1.0);
            return onDevice.toDoubleArray();
        }
    }

    /** Copies rank {@code root}'s tensors into every other rank's, in place. */
    public void broadcast(List<Tensor> tensors, int root) {
        if (root < 0 || root >= worldSize()) throw new IllegalArgumentException("root " + root + " is outside 0.." + (worldSize() - 1));
        run("broadcast", tensors, list -> DistApi.broadcast(open(), handles(list), root, BUCKET_BYTES));
    }

    /** Returns once every rank has reached it. */
    public void barrier() {
        try {
            DistApi.barrier(open());
        } catch (RuntimeException e) {
            throw failure("barrier", e);
        }
    }

    /**
     * Sums the gradients of {@code params} over the ranks while backward still runs, as DDP's Reducer: hooks on
     * the parameters' gradient accumulators (native/ls_dist.cpp) start each bucket's all-reduce as soon as all of
     * its gradients are final. Buckets hold at most {@code capBytes} (the first at most
     * {@link #FIRST_BUCKET_BYTES}) in reverse parameter order, the order backward produces gradients. Every rank
     * must attach the same parameters (shapes, dtypes, order). Fails (with the reason) when the hooks cannot be
     * installed: this shim lacks them, or a parameter is not a leaf that requires grad.
     */
    public Overlap attachOverlap(List<Tensor> params, long capBytes) {
        if (!DistApi.overlapAvailable()) throw new DistributedException("this build of the native shim has no overlapped gradient sum");
        int[] n = new int[1];
        long h;
        try {
            h = DistApi.overlapAttach(open(), handles(params), capBytes, Math.min(FIRST_BUCKET_BYTES, capBytes), n);
        } catch (RuntimeException e) {
            throw new DistributedException(firstLine(e.getMessage()), e);
        }
        Overlap o = new Overlap(h, params.size(), n[0]);
        overlaps.add(o);
        return o;
    }

    /**
     * A gradient sum that overlaps backward ({@link #attachOverlap}). Per step: {@link #arm} before the backward
     * of this rank's last micro-batch (earlier micro-batches only accumulate, as under DDP's no_sync),
     * {@link #flush} after it (a bucket backward did not complete is sent now, zeros for the gradients this rank
     * does not have, in the same bucket order on every rank; a rank without micro-batches flushes without arming),
     * then {@link #finish}. Collectives of the group issued between flush and finish come after the buckets on
     * every rank.
     */
    public final class Overlap implements AutoCloseable {
        private long h;
        private final int params;
        private final int buckets;

        private Overlap(long h, int params, int buckets) {
            this.h = h;
            this.params = params;
            this.buckets = buckets;
        }

        public int buckets() { return buckets; }

        public void arm() { allReduce(() -> DistApi.overlapArm(live())); }

        public void flush() { allReduce(() -> DistApi.overlapFlush(live())); }

        /**
         * Waits for the bucket sums and writes them into the gradients of the parameters with {@code used[i] > 0}
         * (a parameter without a gradient gets one); with {@code discard} it only waits.
         */
        public void finish(double[] used, boolean discard) {
            if (used.length != params) throw new IllegalArgumentException(used.length + " flags for " + params + " parameters");
            allReduce(() -> DistApi.overlapFinish(live(), used, discard));
        }

        // a call of the overlapped sum, its failure reported as the group's all_reduce
        private void allReduce(Runnable call) {
            try {
                call.run();
            } catch (RuntimeException e) {
                throw failure("all_reduce", e);
            }
        }

        /** What happened since attach. */
        public OverlapStats stats() {
            long[] s = DistApi.overlapStats(live());
            return new OverlapStats((int) s[0], s[1], s[2], s[3], s[4], s[5]);
        }

        private long live() {
            open();
            if (h == 0) throw new IllegalStateException("the overlapped gradient sum is closed");
            return h;
        }

        @Override public void close() {
            if (h == 0) return;
            long x = h;
            h = 0;
            overlaps.remove(this);
            DistApi.overlapDestroy(x);
        }
    }

    /**
     * Counts of an {@link Overlap} since it was attached: {@code launchedEarly} buckets left while other gradients
     * of the same backward were still to come (communication overlapping computation); {@code lateGradients}
     * counts gradients accumulated again after their bucket had left (the step then sums again after backward).
     */
    public record OverlapStats(int buckets, long steps, long launchedInBackward, long launchedEarly, long launchedAfterBackward,
                               long lateGradients) {}

    @Override public void close() {
        for (Overlap o : List.copyOf(overlaps)) o.close();
        if (handle == 0) return;
        long h = handle;
        handle = 0;
        DistApi.destroy(h);
    }

    private void allReduce(List<Tensor> tensors, double scale) {
        run("all_reduce", tensors, list -> DistApi.allReduce(open(), handles(list), scale, BUCKET_BYTES));
    }

    private interface Collective { void apply(List<Tensor> tensors); }

    /**
     * Runs a collective on the tensors; with Gloo, tensors off the CPU go through host copies (Gloo's CPU
     * algorithms), written back afterwards.
     */
    private void run(String what, List<Tensor> tensors, Collective c) {
        if (tensors.isEmpty()) return;
        try (Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            List<Tensor> staged = new ArrayList<>(tensors.size());
            boolean anyStaged = false;
            for (Tensor t : tensors) {
                if (backend == Backend.GLOO && t.device().isCuda()) {
                    staged.add(t.to(Device.CPU));
                    anyStaged = true;
                } else {
                    staged.add(t);
                }
            }
            try {
                c.apply(staged);
            } catch (RuntimeException e) {
                throw failure(what, e);
            }
            if (anyStaged) {
                for (int i = 0; i < tensors.size(); i++) if (staged.get(i) != tensors.get(i)) tensors.get(i).copy_(staged.get(i));
            }
        }
    }

    private long open() {
        if (handle == 0) throw new IllegalStateException("the process group is closed");
        return handle;
    }

    private static long[] handles(List<Tensor> ts) {
        long[] hs = new long[ts.size()];
        for (int i = 0; i < hs.length; i++) hs[i] = ts.get(i).handle();
        return hs;
    }

    private DistributedException failure(String what, RuntimeException e) {
        if (e instanceof DistributedException d) return d;
        return new DistributedException("rank " + rank() + " of " + worldSize() + ": " + what + " failed (" + firstLine(e.getMessage())
                + "); when another rank stopped, its output says why (collective timeout " + timeout.toSeconds() + " s)", e);
    }

    private static String firstLine(String s) {
        if (s == null) return "no message";
        return s.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse("no message");
    }
}
