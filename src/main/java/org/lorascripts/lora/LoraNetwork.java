package org.lorascripts.lora;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.Device;
import org.lorascripts.nn.NamedParam;

/**
 * The adapters attached to one model, by module name (the model's own, HF/diffusers module path).
 * Exporters turn these names into kohya or PEFT keys. Closing detaches and frees the adapters.
 */
public final class LoraNetwork implements AdapterNetwork {
    private final Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
    private final Map<String, LoraHost> hosts = new LinkedHashMap<>();

    /**
     * Attaches a new adapter to every host whose name the filter accepts. Linear layers and 1x1
     * convolutions get (rank, alpha); larger convolutions only when spec.convRank() > 0.
     */
    public static LoraNetwork inject(Map<String, LoraHost> candidates, Predicate<String> filter, LoraSpec spec, Device device) {
        return inject(candidates, filter, spec, LoraAdapter.Decomposition.NONE, device);
    }

    /**
     * As {@link #inject(Map, Predicate, LoraSpec, Device)}; with a decomposition other than NONE every
     * adapter is a DoRA whose magnitude starts at the norm of its host's weight.
     */
    public static LoraNetwork inject(Map<String, LoraHost> candidates, Predicate<String> filter, LoraSpec spec,
                                     LoraAdapter.Decomposition dora, Device device) {
        LoraNetwork net = new LoraNetwork();
        AdapterNetworks.inject(candidates, filter, spec, (host, rank, alpha) -> dora == LoraAdapter.Decomposition.NONE
                        ? LoraAdapter.create(host, rank, alpha, spec.scale(rank, alpha), spec.dropout(), device)
                        : LoraAdapter.createDora(host, dora, rank, alpha, spec.scale(rank, alpha), spec.dropout(), device), net::add);
        return net;
    }

    /** Attaches an existing adapter (e.g. loaded from a file). */
    public void add(String name, LoraHost host, LoraAdapter adapter) {
        AdapterNetworks.add(adapters, hosts, name, host, adapter, LoraAdapter::close);
    }

    public Map<String, LoraAdapter> adapters() { return Collections.unmodifiableMap(adapters); }

    public Map<String, LoraHost> hosts() { return Collections.unmodifiableMap(hosts); }

    public int size() { return adapters.size(); }

    /**
     * fp32 master weights, named {@code <module>.lora_down.weight} / {@code <module>.lora_up.weight}, and
     * {@code <module>.dora_scale} for a DoRA's magnitude.
     */
    public List<NamedParam> trainableParameters() { return trainableParameters(1.0, 1.0); }

    /**
     * The same parameters with learning-rate scales: {@code downScale} for the down (A) matrices and
     * {@code upScale} for the up (B) ones. LoRA+ (Hayou et al. 2024, kohya's loraplus_lr_ratio)
     * trains the up matrices at the down rate times a ratio. A DoRA magnitude trains at {@code downScale}.
     */
    public List<NamedParam> trainableParameters(double downScale, double upScale) {
        List<NamedParam> ps = new ArrayList<>();
        for (var e : adapters.entrySet()) {
            ps.add(new NamedParam(e.getKey() + ".lora_down.weight", e.getValue().down(), downScale));
            ps.add(new NamedParam(e.getKey() + ".lora_up.weight", e.getValue().up(), upScale));
            if (e.getValue().magnitude() != null) ps.add(new NamedParam(e.getKey() + ".dora_scale", e.getValue().magnitude(), downScale));
        }
        return ps;
    }

    public void setTraining(boolean on) { adapters.values().forEach(a -> a.setTraining(on)); }

    /** kohya's network_dropout, rank_dropout and module_dropout on every adapter ({@link LoraAdapter#setKohyaDropouts}). */
    public void setKohyaDropouts(double neuron, double rank, double module) {
        adapters.values().forEach(a -> a.setKohyaDropouts(neuron, rank, module));
    }

    public void setMultiplier(double m) { adapters.values().forEach(a -> a.setMultiplier(m)); }

    /** Whether any adapter is a DoRA. */
    public boolean hasDora() { return adapters.values().stream().anyMatch(a -> a.magnitude() != null); }

    /**
     * Adds every adapter's delta into its host's frozen weight (in place) and detaches the adapters:
     * the model then computes the same outputs without them. A DoRA's weight becomes m ⊙ (W + ΔW) / ‖W + ΔW‖.
     */
    public void mergeIntoWeights() {
        AdapterNetworks.mergeIntoWeights(adapters, hosts, (a, host, dt) -> a.delta(host, dt));
    }

    @Override public void close() {
        AdapterNetworks.close(adapters, hosts, LoraAdapter::close);
    }
}
