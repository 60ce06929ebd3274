package org.lorascripts.lora;

import java.util.Arrays;
import java.util.Map;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/**
 * A PEFT LoRA adapter as read by {@link PeftAdapterReader}: its config and, per module path,
 * lora_A (r, in), lora_B (out, r) and a DoRA's lora_magnitude_vector (out) as fp32 CPU tensors owned here.
 */
public final class PeftAdapter implements AutoCloseable {
    /** One module's low-rank pair and, for a DoRA, its magnitude vector (out), else null. */
    public record Pair(Tensor a, Tensor b, Tensor magnitude) {
        public Pair(Tensor a, Tensor b) { this(a, b, null); }
    }

    private final PeftAdapterConfig config;
    private final Map<String, Pair> modules;

    PeftAdapter(PeftAdapterConfig config, Map<String, Pair> modules) {
        this.config = config;
        this.modules = modules;
    }

    public PeftAdapterConfig config() { return config; }

    /** Module path → (A, B), in file order. */
    public Map<String, Pair> modules() { return java.util.Collections.unmodifiableMap(modules); }

    /** The scale of one module: lora_alpha / r (rsLoRA: / sqrt(r)), r taken from the weights. */
    public double scale(String module) {
        int r = (int) modules.get(module).a().size(0);
        double alpha = config.alphaFor(module);
        return config.useRslora() ? alpha / Math.sqrt(r) : alpha / r;
    }

    /**
     * Attaches copies of the weights (fp32 on {@code device}, trainable) to the model's hosts.
     * Every adapted module must exist in the model with matching in/out sizes.
     */
    public LoraNetwork attach(Map<String, LoraHost> hosts, Device device) {
        LoraNetwork net = new LoraNetwork();
        try {
            for (var e : modules.entrySet()) {
                String name = e.getKey();
                LoraHost host = hosts.get(name);
                if (host == null) {
                    throw new IllegalArgumentException("the adapter adapts '" + name + "', which the model does not have (base model "
                            + config.baseModelNameOrPath() + "?)");
                }
                long[] ws = host.weightShape();
                Tensor a = e.getValue().a(), b = e.getValue().b();
                if (host.kind() != LoraHost.Kind.LINEAR || a.size(1) != ws[1] || b.size(0) != ws[0]) {
                    throw new IllegalArgumentException("adapter weights for '" + name + "' (lora_A " + Arrays.toString(a.shape()) + ", lora_B "
                            + Arrays.toString(b.shape()) + ") do not fit the model's weight " + Arrays.toString(ws));
                }
                int r = (int) a.size(0);
                // own copies: the adapter trains and closes them independently of this holder
                Tensor down = (device.isCuda() ? a.to(DType.F32, device) : a.copy()).keep().requiresGrad_(true);
                Tensor up = (device.isCuda() ? b.to(DType.F32, device) : b.copy()).keep().requiresGrad_(true);
                Tensor mag = e.getValue().magnitude();
                if (mag != null && (mag.dim() != 1 || mag.size(0) != ws[0])) {
                    throw new IllegalArgumentException("lora_magnitude_vector of '" + name + "' has shape " + Arrays.toString(mag.shape())
                            + "; the model's weight " + Arrays.toString(ws) + " needs [" + ws[0] + "]");
                }
                Tensor m = mag == null ? null : (device.isCuda() ? mag.to(DType.F32, device) : mag.copy()).keep().requiresGrad_(true);
                net.add(name, host, new LoraAdapter(down, up, m, m == null ? LoraAdapter.Decomposition.NONE : LoraAdapter.Decomposition.OUTPUT,
                        LoraHost.Kind.LINEAR, 1, 0, r, config.alphaFor(name), scale(name), config.loraDropout()));
            }
        } catch (RuntimeException ex) {
            net.close();
            throw ex;
        }
        return net;
    }

    @Override public void close() {
        for (Pair p : modules.values()) {
            p.a().close();
            p.b().close();
            if (p.magnitude() != null) p.magnitude().close();
        }
    }
}
