package org.lorascripts.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.lorascripts.dist.ProcessGroup;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * {@link GradientSync} over a {@link ProcessGroup}: data-parallel LoRA training, one rank per process. The
 * gradient sum overlaps the backward of each rank's last micro-batch ({@link ProcessGroup#attachOverlap}, as
 * DDP's Reducer); when the hooks cannot be installed it falls back to summing after backward.
 */
public final class DataParallel implements GradientSync {
    private final ProcessGroup group;
    private final long overlapBucketBytes;
    private ProcessGroup.Overlap overlap;  // null: sum after backward
    private long lateCounted;               // the overlap's late gradients up to the previous step

    /** Overlapped sums in buckets of {@link ProcessGroup#BUCKET_BYTES}. */
    public DataParallel(ProcessGroup group) { this(group, ProcessGroup.BUCKET_BYTES); }

    /** {@code overlapBucketBytes} caps the buckets of the overlapped sum; 0 sums after backward instead. */
    public DataParallel(ProcessGroup group, long overlapBucketBytes) {
        this.group = group;
        this.overlapBucketBytes = overlapBucketBytes;
    }

    @Override public int rank() { return group.rank(); }

    @Override public int worldSize() { return group.worldSize(); }

    @Override public boolean exchanges() { return true; }

    @Override public int localRank() { return group.localRank(); }

    @Override public void start(List<Tensor> params, long seed, long step) {
        try (Autograd.GradMode g = Autograd.noGrad()) {
            group.broadcast(params, 0);
        }
        // Diffusion noise, timesteps and dropout must differ between ranks (the same seed everywhere would give
        // every rank the same draws for different examples); a resumed run draws from (seed, rank, step) too.
        Rng.manualSeed(streamSeed(seed, rank(), step));
        if (overlap != null) overlap.close();
        overlap = null;
        lateCounted = 0;
        if (overlapBucketBytes > 0 && !params.isEmpty()) {
            try {
                overlap = group.attachOverlap(params, overlapBucketBytes);
            } catch (RuntimeException e) {
                // every rank has the same parameters and shim, so all take the same path
                System.err.println("lora: rank " + rank() + ": gradients are summed after backward, not during it (" + e.getMessage() + ")");
            }
        }
    }

    /** The overlapped sum's counts, when it is in use. */
    public Optional<ProcessGroup.OverlapStats> overlapStats() {
        return overlap == null ? Optional.empty() : Optional.of(overlap.stats());
    }

    @Override public void beforeLastBackward() {
        if (overlap != null) overlap.arm();
    }

    @Override public double reduce(List<Tensor> params, double lossSum) {
        int n = params.size();
        try (Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            boolean overlapped = overlap != null;
            long late = 0;
            if (overlapped) {
                long total = overlap.stats().lateGradients();
                late = total - lateCounted;  // this step's
                lateCounted = total;
                overlap.flush();  // the buckets backward did not send, in bucket order (all of them on a rank without micro-batches)
            }
            // One small sum (after the buckets on every rank): which parameters have a gradient on any rank, the
            // loss, and whether a gradient changed after its bucket left. A rank whose micro-batches never reached
            // a parameter (or that had none this step) sends zeros for it; a parameter no rank reached keeps no
            // gradient, as in one process.
            double[] flags = new double[n + 2];
            List<Tensor> grads = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                Tensor gr = params.get(i).grad();
                grads.add(gr);
                flags[i] = gr != null ? 1 : 0;
            }
            flags[n] = lossSum;
            flags[n + 1] = late;
            double[] summed = group.allReduceSum(flags);
            boolean stale = summed[n + 1] > 0;
            if (overlapped) {
                overlap.finish(Arrays.copyOf(summed, n), stale);
                if (!stale) return summed[n];
            }
            List<Tensor> reduce = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                if (summed[i] == 0) continue;
                Tensor gr = grads.get(i);
                if (gr == null) {
                    Tensor p = params.get(i);
                    p.setGrad(Torch.zeros(p.shape(), p.dtype(), p.device()));
                    gr = p.grad();
                }
                reduce.add(gr);
            }
            group.allReduceSum(reduce);
            return summed[n];
        }
    }

    @Override public boolean anyRank(boolean flag) {
        return group.allReduceSum(flag ? 1 : 0)[0] > 0;
    }

    /** A well-mixed seed per (seed, rank, step) (SplitMix64's finaliser over each part). */
    static long streamSeed(long seed, int rank, long step) {
        long h = mix(seed + 0x9E3779B97F4A7C15L);
        h = mix(h ^ (rank + 1L) * 0xBF58476D1CE4E5B9L);
        h = mix(h ^ step * 0x94D049BB133111EBL);
        return h & Long.MAX_VALUE;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
