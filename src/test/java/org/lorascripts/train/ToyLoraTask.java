package org.lorascripts.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lorascripts.io.PngWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.nn.NamedParam;

/**
 * A tiny LoRA regression task: y = x·W0ᵀ + scale·dropout(x)·Aᵀ·Bᵀ, with a frozen random W0 and
 * trainable A (r×d), B (k×r); targets come from a hidden true map W0 + a low-rank delta, so the
 * LoRA can fit them. Loss per example = mean squared error over the k outputs; lossSum sums over
 * the micro-batch. Data are generated in f64 from java.util.Random (train and validation from
 * separate seeds, so the train split does not depend on the validation size); A and B are fp32
 * master weights initialised from the torch generator; the forward runs in f64.
 * Validation adds torch-drawn noise to the targets (as a diffusion val loss draws noise), so a
 * validation pass that did not fix the seed would not be repeatable.
 */
final class ToyLoraTask implements TrainingTask {
    static final int D = 6, K = 3, R = 2;

    private final int trainN, valN;
    private final double dropout;
    private final Tensor x, y, xv, yv, w0;
    private final Tensor a, b;
    int exports;
    int failOnExport = -1;         // the n-th export (1-based) throws "No space left on device"
    double[] scriptedVal;          // when set, validation loss of the i-th evaluation
    int evaluations;
    boolean emitSamples;

    private final Device device;

    ToyLoraTask(int trainN, int valN, double dropout) {
        this(trainN, valN, dropout, Device.CPU);
    }

    /** Data and weights on {@code device}; the forward runs in f32 there when it is CUDA (autocast needs f32 inputs). */
    ToyLoraTask(int trainN, int valN, double dropout, Device device) {
        this.device = device;
        this.trainN = trainN;
        this.valN = valN;
        this.dropout = dropout;
        Random r = new Random(7);
        double[] w0v = gauss(r, K * D, 0.5);
        double[] du = gauss(r, K * R, 0.7), dv = gauss(r, R * D, 0.7);
        double[] wt = new double[K * D];
        for (int i = 0; i < K; i++)
            for (int j = 0; j < D; j++) {
                double s = 0;
                for (int q = 0; q < R; q++) s += du[i * R + q] * dv[q * D + j];
                wt[i * D + j] = w0v[i * D + j] + s;
            }
        double[] xs = gauss(r, trainN * D, 1.0);
        double[] xvs = gauss(new Random(8), Math.max(valN, 1) * D, 1.0);
        DType dt = compute();
        try (Scope s = Scope.open()) {
            w0 = Torch.of(w0v, K, D).to(dt, device).keep();
            x = Torch.of(xs, trainN, D).to(dt, device).keep();
            xv = Torch.of(xvs, Math.max(valN, 1), D).to(dt, device).keep();
            Tensor wtT = Torch.of(wt, K, D).to(dt, device).mT();
            y = x.matmul(wtT).keep();
            yv = xv.matmul(wtT).keep();
            a = Torch.randn(new long[] {R, D}, DType.F32, device).mul_(0.3).requiresGrad_(true).keep();
            b = Torch.randn(new long[] {K, R}, DType.F32, device).mul_(0.1).requiresGrad_(true).keep();
        }
    }

    private DType compute() { return device.isCuda() ? DType.F32 : DType.F64; }

    private static double[] gauss(Random r, int n, double std) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = r.nextGaussian() * std;
        return v;
    }

    @Override public List<NamedParam> trainableParameters() {
        return List.of(new NamedParam("lora.down", a), new NamedParam("lora.up", b));
    }

    @Override public int trainSize() { return trainN; }

    @Override public int valSize() { return valN; }

    @Override public double weight(int[] idx, boolean validation) { return idx.length; }

    /** Training micro-batches in the order lossSum saw them, and the prefetch hints as "epoch:batch|batch". */
    final List<String> trained = new ArrayList<>(), prefetched = new ArrayList<>();
    private int epoch;

    @Override public void setEpoch(int epoch) { this.epoch = epoch; }

    @Override public void prefetch(List<int[]> microBatches, int epoch) { prefetched.add(describe(microBatches, epoch)); }

    static String describe(List<int[]> microBatches, int epoch) {
        StringBuilder b = new StringBuilder().append(epoch).append(':');
        for (int[] mb : microBatches) b.append(java.util.Arrays.toString(mb)).append('|');
        return b.toString();
    }

    @Override public Tensor lossSum(int[] idx, boolean validation) {
        if (!validation) trained.add(epoch + ":" + java.util.Arrays.toString(idx));
        if (validation && scriptedVal != null) {
            if (idx[0] == 0) evaluations++;
            return Torch.full(new long[0], scriptedVal[evaluations - 1] * idx.length, DType.F64, device);
        }
        long[] li = new long[idx.length];
        for (int i = 0; i < li.length; i++) li[i] = idx[i];
        Tensor index = Torch.of(li).to(device);
        Tensor xb = (validation ? xv : x).indexSelect(0, index);
        Tensor yb = (validation ? yv : y).indexSelect(0, index);
        Tensor h = validation || dropout == 0 ? xb : Functional.dropout(xb, dropout, true);
        Tensor pred = xb.matmul(w0.mT()).add(h.matmul(a.to(compute()).mT()).matmul(b.to(compute()).mT()));
        if (validation) yb = yb.add(Torch.randn(yb.shape(), compute(), device).mul(0.1));
        return pred.sub(yb).square().mean(1).sum();  // under autocast pred is f16; the f32 target promotes the rest
    }

    @Override public void exportAdapter(Path target, Map<String, String> metadata) throws IOException {
        exports++;
        if (exports == failOnExport) {
            Files.write(target, new byte[] {1, 2, 3});  // half a file, as a full disk leaves it
            throw new IOException("No space left on device");
        }
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("lora.down", a);
        m.put("lora.up", b);
        TensorIO.save(target, m, metadata);
    }

    @Override public String adapterFileName(String outputName) { return outputName + ".safetensors"; }

    @Override public void sample(long step, SampleSink sink) {
        if (!emitSamples) return;
        byte[] px = new byte[4 * 4 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 5 + step);
        sink.image("preview/0", PngWriter.encode(px, 4, 4, PngWriter.Channels.RGB), 4, 4);
        sink.text("completion/0", "step " + step);
    }

    float[] weights() {
        List<Float> all = new ArrayList<>();
        for (float f : a.toFloatArray()) all.add(f);
        for (float f : b.toFloatArray()) all.add(f);
        float[] r = new float[all.size()];
        for (int i = 0; i < r.length; i++) r[i] = all.get(i);
        return r;
    }

    @Override public void close() {
        for (Tensor t : new Tensor[] {x, y, xv, yv, w0, a, b}) t.close();
    }
}
