package org.lorascripts.lora;

import org.lorascripts.nn.Adapter;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * One low-rank adapter: out = up(down(dropout(x))) * scale * multiplier. down is kohya's
 * lora_down / PEFT's lora_A (rank, in[, kh, kw]); up is lora_up / lora_B (out, rank[, 1, 1]).
 * Both are fp32 master weights owned here; they are cast to the input's dtype in forward (under
 * autocast the cast is what autocast would do anyway), so gradients reach the fp32 masters.
 */
public final class LoraAdapter implements Adapter, AutoCloseable {
    private final Tensor down, up;
    private final LoraHost.Kind kind;
    private final int stride, padding;
    private final int rank;
    private final double alpha, scale;
    private double dropout;
    private double multiplier = 1.0;
    private boolean training;

    LoraAdapter(Tensor down, Tensor up, LoraHost.Kind kind, int stride, int padding, int rank, double alpha, double scale, double dropout) {
        this.down = down;
        this.up = up;
        this.kind = kind;
        this.stride = stride;
        this.padding = padding;
        this.rank = rank;
        this.alpha = alpha;
        this.scale = scale;
        this.dropout = dropout;
    }

    /** New adapter for a host, initialised as kohya and PEFT do: kaiming-uniform(a=√5) down, zero up. */
    static LoraAdapter create(LoraHost host, int rank, double alpha, double scale, double dropout, Device device) {
        long[] ws = host.weightShape();
        long out = ws[0], in = ws[1];
        Tensor down, up;
        if (host.kind() == LoraHost.Kind.LINEAR) {
            down = Torch.empty(new long[] {rank, in}, DType.F32, device);
            up = Torch.zeros(new long[] {out, rank}, DType.F32, device);
        } else {
            long kh = ws[2], kw = ws[3];
            down = Torch.empty(new long[] {rank, in, kh, kw}, DType.F32, device);
            up = Torch.zeros(new long[] {out, rank, 1, 1}, DType.F32, device);
        }
        long fanIn = in * (ws.length == 4 ? ws[2] * ws[3] : 1);
        double bound = 1 / Math.sqrt(fanIn);  // kaiming_uniform_(a=sqrt(5)): gain sqrt(1/3) * sqrt(3 / fan_in)
        down.uniform_(-bound, bound);
        down.requiresGrad_(true);
        up.requiresGrad_(true);
        return new LoraAdapter(down, up, host.kind(), host.stride(), host.padding(), rank, alpha, scale, dropout);
    }

    @Override public Tensor apply(Tensor x) {
        Tensor in = training && dropout > 0 ? Functional.dropout(x, dropout, true) : x;
        DType dt = x.dtype();
        Tensor d = down.dtype() == dt ? down : down.to(dt);
        Tensor u = up.dtype() == dt ? up : up.to(dt);
        Tensor h = kind == LoraHost.Kind.LINEAR ? Functional.linear(in, d, null) : Functional.conv2d(in, d, null, stride, padding, 1);
        Tensor y = kind == LoraHost.Kind.LINEAR ? Functional.linear(h, u, null) : Functional.conv2d(h, u, null, 1, 0, 1);
        return y.mul(scale * multiplier);
    }

    /** The weight delta this adapter adds, shaped like the host's weight: up @ down * scale, computed in dt. */
    public Tensor delta(DType dt) {
        Tensor dn = down.to(dt), upc = up.to(dt);
        if (kind == LoraHost.Kind.LINEAR) return upc.matmul(dn).mul(scale * multiplier);
        long[] ds = down.shape();
        Tensor d2 = dn.reshape(ds[0], -1);                   // (r, in*kh*kw)
        Tensor u2 = upc.reshape(up.shape()[0], ds[0]);       // (out, r)
        return u2.matmul(d2).reshape(up.shape()[0], ds[1], ds[2], ds[3]).mul(scale * multiplier);
    }

    @Override public java.util.List<Tensor> parameters() { return java.util.List.of(down, up); }

    public Tensor down() { return down; }
    public Tensor up() { return up; }
    public int rank() { return rank; }
    public double alpha() { return alpha; }
    public double scale() { return scale; }
    public LoraHost.Kind kind() { return kind; }
    public void setTraining(boolean on) { training = on; }
    public void setMultiplier(double m) { multiplier = m; }
    public double multiplier() { return multiplier; }

    @Override public void close() {
        down.close();
        up.close();
    }
}
