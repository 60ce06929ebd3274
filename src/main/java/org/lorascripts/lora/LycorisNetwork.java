package org.lorascripts.lora;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

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
        for (var e : candidates.entrySet()) {
            if (!filter.test(e.getKey())) continue;
            LoraHost host = e.getValue();
            long[] ws = host.weightShape();
            boolean bigConv = host.kind() == LoraHost.Kind.CONV && (ws[2] > 1 || ws[3] > 1);
            int rank = bigConv ? spec.convRank() : spec.rank();
            if (rank <= 0) continue;
            double alpha = bigConv ? spec.convAlpha() : spec.alpha();
            LycorisAdapter a = algo == LycorisAdapter.Algo.LOHA
                    ? LycorisAdapter.createLoha(host, rank, alpha, device)
                    : LycorisAdapter.createLokr(host, rank, alpha, lokr.factor(), lokr.decomposeBoth(), lokr.fullMatrix(), device);
            net.add(e.getKey(), host, a);
        }
        return net;
    }

    /** Attaches an existing adapter (e.g. read from a file). */
    public void add(String name, LoraHost host, LycorisAdapter adapter) {
        LycorisAdapter old = adapters.put(name, adapter);
        if (old != null) old.close();
        hosts.put(name, host);
        host.attach(adapter);
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
        try (var ng = Autograd.noGrad(); Scope s = Scope.open()) {
            for (var e : adapters.entrySet()) {
                LoraHost host = hosts.get(e.getKey());
                DType wt = host.weight().dtype();
                Tensor d = e.getValue().delta(wt == DType.F64 ? DType.F64 : DType.F32);
                host.weight().add_(d.to(wt, host.weight().device()));
                host.attach(null);
            }
        }
    }

    @Override public void close() {
        for (var e : adapters.entrySet()) {
            LoraHost h = hosts.get(e.getKey());
            if (h.adapter() == e.getValue()) h.attach(null);
            e.getValue().close();
        }
        adapters.clear();
        hosts.clear();
    }
}
