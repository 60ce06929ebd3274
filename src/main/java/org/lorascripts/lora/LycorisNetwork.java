package org.lorascripts.lora;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Device;

/**
 * LyCORIS LoHa or LoKr adapters attached to one model, by module name; the counterpart of {@link LoraNetwork}
 * (same targets: linear layers and 1x1 convolutions at (rank, alpha), larger convolutions only with a conv rank).
 * Parameters are named {@code <module>.<LyCORIS key>} ({@code .hada_w1_a}, {@code .lokr_w1}, ...).
 */
public final class LycorisNetwork implements AdapterNetwork {
    /** LoKr's shape options (LyCORIS's factor, decompose_both, full_matrix); ignored for LoHa. */
    public record LokrOptions(int factor, boolean decomposeBoth, boolean fullMatrix) {
        public static final LokrOptions DEFAULT = new LokrOptions(-1, false, false);
    }

    private final Map<String, LycorisAdapter> adapters = new LinkedHashMap<>();
    private final Map<String, LoraHost> hosts = new LinkedHashMap<>();

    public static LycorisNetwork inject(Map<String, LoraHost> candidates, Predicate<String> filter, LoraSpec spec, LycorisAdapter.Algo algo,
                                        LokrOptions lokr, Device device) {
        LycorisNetwork net = new LycorisNetwork();
        AdapterNetworks.inject(candidates, filter, spec, (host, rank, alpha) -> algo == LycorisAdapter.Algo.LOHA
                        ? LycorisAdapter.createLoha(host, rank, alpha, device)
                        : LycorisAdapter.createLokr(host, rank, alpha, lokr.factor(), lokr.decomposeBoth(), lokr.fullMatrix(), device), net::add);
        return net;
    }

    /** Attaches an existing adapter (e.g. read from a file). */
    public void add(String name, LoraHost host, LycorisAdapter adapter) {
        AdapterNetworks.add(adapters, hosts, name, host, adapter, LycorisAdapter::close);
    }

    @Override public Map<String, LycorisAdapter> adapters() { return Collections.unmodifiableMap(adapters); }

    @Override public Map<String, LoraHost> hosts() { return Collections.unmodifiableMap(hosts); }

    @Override public int size() { return adapters.size(); }

    /** The network's algorithm (null when empty). */
    public LycorisAdapter.Algo algo() { return adapters.isEmpty() ? null : adapters.values().iterator().next().algo(); }

    @Override public List<NamedParam> trainableParameters(double downScale, double upScale) {
        List<NamedParam> ps = new ArrayList<>();
        for (var e : adapters.entrySet()) {
            for (var t : e.getValue().tensors().entrySet()) ps.add(new NamedParam(e.getKey() + "." + t.getKey(), t.getValue(), downScale));
        }
        return ps;
    }

    /** LoHa and LoKr have no dropout (as in LyCORIS), so training and inference compute the same. */
    @Override public void setTraining(boolean on) {}

    @Override public void setMultiplier(double m) { adapters.values().forEach(a -> a.setMultiplier(m)); }

    @Override public void mergeIntoWeights() {
        AdapterNetworks.mergeIntoWeights(adapters, hosts, (a, host, dt) -> a.delta(dt));
    }

    @Override public void close() {
        AdapterNetworks.close(adapters, hosts, LycorisAdapter::close);
    }
}
