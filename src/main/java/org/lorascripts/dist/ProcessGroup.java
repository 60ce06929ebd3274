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

    private final DistEnv env;
    private final Backend backend;
    private final Duration timeout;
    private long handle;

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

    @Override public void close() {
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
