package org.lorascripts.train;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.CudaGraph;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.GradClipping;
import org.lorascripts.train.optim.GradScaler;
import org.lorascripts.train.optim.Optimizer;

/**
 * Optimizer steps as CUDA graphs (cuda_graphs: true): the whole step (every micro-batch's forward
 * and backward, unscale, clipping, the optimizer, the loss scale's update) is captured once per
 * shape of the task's {@link TrainingTask#stepInputs} and replayed, so the host no longer launches
 * thousands of kernels one by one: on an H200 the host's work, not the GPU, bounded the plain step
 * (bench/results/2026-12-04/profile-*.jsonl).
 *
 * <p>A shape is captured the second time it is seen (the first runs the plain way, so one-off shapes
 * such as an epoch's ragged last batch never cost a capture), at most {@link #MAX_GRAPHS} shapes per
 * run; all graphs share one memory pool, since none keeps a tensor of its own between replays: the
 * inputs, the learning rate and the results live in tensors allocated before capture. The capture's
 * warm-up run is the real step for the batch at hand. The results (loss sum, gradient norm, inf flag)
 * are read back once per step, after the replay.
 *
 * <p>What a graph cannot do falls back to the plain step with one line: a task without step inputs,
 * an optimizer without a device-only step (only fused AdamW has one), a CPU run, a failed capture.
 */
public final class GraphedSteps implements AutoCloseable {
    static final int MAX_GRAPHS = 32;

    public record Result(double lossSum, double gradNorm, boolean applied) {}

    private final TrainingTask task;
    private final Precision precision;
    private final Optimizer optimizer;
    private final GradScaler scaler;
    private final double maxNorm;
    private final Device device;
    private final PrintStream console;
    private final Map<String, Entry> graphs = new LinkedHashMap<>();
    private final Map<String, Integer> seen = new HashMap<>();
    private CudaGraph.Pool pool;
    private Tensor lr;          // () f32: this step's learning rate
    private Tensor invWeight;   // () f32: 1 / (sum of the window's weights)
    private Tensor lossOut;     // () f64: the window's loss sum
    private Tensor normOut;     // () f32: the gradient norm before clipping
    private Tensor infOut;      // () f32: 1 when the step was skipped for inf/nan
    private boolean disabled;
    private boolean full;

    private final class Entry {
        final List<List<Tensor>> inputs;
        CudaGraph graph;

        Entry(List<List<Tensor>> inputs) { this.inputs = inputs; }
    }

    public GraphedSteps(TrainingTask task, Precision precision, Optimizer optimizer, GradScaler scaler, double maxNorm, Device device,
                 PrintStream console) {
        this.task = task;
        this.precision = precision;
        this.optimizer = optimizer;
        this.scaler = scaler;
        this.maxNorm = maxNorm > 0 ? maxNorm : Double.POSITIVE_INFINITY;
        this.device = device;
        this.console = console;
    }

    /** Why graphs cannot run with this setup, or null when they can. */
    public static String unsupported(Device device, Optimizer optimizer) {
        if (!device.isCuda()) return "not a CUDA device";
        if (!CudaGraph.isAvailable()) return "this native layer has no CUDA graphs";
        if (!optimizer.stepsOnDevice()) return "the optimizer has no device-only step (fused AdamW on libtorch 2.4+ has)";
        return null;
    }

    /**
     * Runs the optimizer step of these micro-batches as a graph, or returns null when the caller must
     * run it the plain way (first sight of a shape, graphs full or disabled, the task gives no inputs).
     */
    public Result step(List<int[]> micro, double weight, double rate) {
        if (disabled) return null;
        List<List<Tensor>> inputs = new ArrayList<>(micro.size());
        try (Scope s = Scope.open()) {
            for (int[] mb : micro) {
                List<Tensor> in = task.stepInputs(mb);
                if (in == null) {
                    disable("the task gives no step inputs");
                    return null;
                }
                inputs.add(in);
            }
            String key = key(inputs);
            Entry e = graphs.get(key);
            if (e == null) {
                int n = seen.merge(key, 1, Integer::sum);
                if (n < 2) return null;
                if (graphs.size() >= MAX_GRAPHS) {
                    if (!full) console.println("cuda_graphs: " + MAX_GRAPHS + " batch shapes captured; further shapes run without a graph");
                    full = true;
                    return null;
                }
                return capture(key, inputs, weight, rate);
            }
            for (int i = 0; i < inputs.size(); i++) {
                for (int j = 0; j < inputs.get(i).size(); j++) e.inputs.get(i).get(j).copy_(inputs.get(i).get(j));
            }
            setScalars(weight, rate);
            e.graph.replay();
            return read();
        }
    }

    private Result capture(String key, List<List<Tensor>> inputs, double weight, double rate) {
        if (pool == null) {
            pool = CudaGraph.Pool.create();
            lr = Torch.zeros(new long[0], DType.F32, device).keep();
            invWeight = Torch.zeros(new long[0], DType.F32, device).keep();
            lossOut = Torch.zeros(new long[0], DType.F64, device).keep();
            normOut = Torch.zeros(new long[0], DType.F32, device).keep();
            infOut = Torch.zeros(new long[0], DType.F32, device).keep();
        }
        List<List<Tensor>> statics = new ArrayList<>(inputs.size());
        for (List<Tensor> in : inputs) {
            List<Tensor> copy = new ArrayList<>(in.size());
            for (Tensor t : in) copy.add(t.copy().keep());
            statics.add(copy);
        }
        Entry e = new Entry(statics);
        setScalars(weight, rate);
        int[] completed = {0};
        try {
            // warm-up run = this batch's real step; the captured run only records
            e.graph = CudaGraph.capture(device, 1, pool, () -> {
                body(statics);
                completed[0]++;
            });
        } catch (RuntimeException ex) {
            for (List<Tensor> l : statics) for (Tensor t : l) t.close();
            disable("capturing a step failed (" + firstLine(ex.getMessage()) + ")");
            if (completed[0] == 0) return null;                  // nothing ran: the caller runs the step
            return read();                                      // the warm-up already was this step
        }
        graphs.put(key, e);
        // the graphs replay from their own pool: hand the ordinary pool's cached blocks (the eager steps' memory)
        // back, so a graphed run does not hold a step's memory twice
        org.lorascripts.tensor.Cuda.emptyCache();
        return read();
    }

    /** One optimizer step from the static inputs, device work only. */
    private void body(List<List<Tensor>> statics) {
        try (Scope s = Scope.open()) {
            Tensor total = Torch.zeros(new long[0], DType.F64, device);
            for (List<Tensor> in : statics) {
                try (Scope ms = Scope.open()) {
                    Tensor loss;
                    try (Autocast ac = precision.autocast()) {
                        loss = task.lossSumFromInputs(in);
                    }
                    scaler.scale(loss.mul(invWeight)).backward();
                    total.add_(loss.detach().to(DType.F64));
                }
            }
            scaler.unscale(optimizer);
            Tensor norm = GradClipping.clipGradNormOnDevice(optimizer.paramTensors(), maxNorm);
            if (scaler.isEnabled()) {
                scaler.stepOnDevice(optimizer, lr);
                infOut.copy_(scaler.foundInf());
                scaler.update();
            } else {
                // inf - inf and nan - nan are nan: a non-finite norm skips the step, as the plain path does
                Tensor inf = norm.sub(norm).ne(0).to(DType.F32);
                optimizer.stepOnDevice(lr, inf);
                infOut.copy_(inf);
            }
            lossOut.copy_(total);
            normOut.copy_(norm);
            norm.close();
            optimizer.zeroGrad();
        }
    }

    private void setScalars(double weight, double rate) {
        lr.fill_(rate);
        invWeight.fill_(1.0 / weight);
    }

    private Result read() {
        double loss = lossOut.item();
        double norm = normOut.item();
        boolean applied = infOut.item() == 0;
        if (!applied && scaler.isEnabled()) scaler.countSkipped();
        return new Result(loss, norm, applied);
    }

    private void disable(String why) {
        if (disabled) return;
        disabled = true;
        console.println("cuda_graphs: off for this run: " + why + "; steps run without graphs");
    }

    private static String key(List<List<Tensor>> inputs) {
        StringBuilder b = new StringBuilder();
        for (List<Tensor> in : inputs) {
            b.append('[');
            for (Tensor t : in) b.append(t.dtype()).append(Arrays.toString(t.shape())).append(t.device()).append(';');
            b.append(']');
        }
        return b.toString();
    }

    private static String firstLine(String s) {
        if (s == null) return "no message";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** Shapes captured so far (for the run's last lines). */
    public int captured() { return graphs.size(); }

    @Override
    public void close() {
        for (Entry e : graphs.values()) {
            if (e.graph != null) e.graph.close();
            for (List<Tensor> l : e.inputs) for (Tensor t : l) t.close();
        }
        graphs.clear();
        for (Tensor t : new Tensor[] {lr, invWeight, lossOut, normOut, infOut}) if (t != null) t.close();
    }
}
