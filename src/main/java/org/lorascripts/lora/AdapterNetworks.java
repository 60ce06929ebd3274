package org.lorascripts.lora;

import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.lorascripts.nn.Adapter;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * What {@link LoraNetwork} and {@link LycorisNetwork} do alike over their (module → adapter, module → host)
 * maps: choosing the hosts and (rank, alpha) to inject, attaching, merging into the weights and closing.
 */
final class AdapterNetworks {
    private AdapterNetworks() {}

    /** Makes a new adapter for a host at (rank, alpha). */
    interface Maker<A> { A make(LoraHost host, int rank, double alpha); }

    /** Attaches an adapter to a host under a module name. */
    interface Attach<A> { void add(String name, LoraHost host, A adapter); }

    /** An adapter's weight delta for its host, in fp32 or fp64. */
    interface Delta<A> { Tensor delta(A adapter, LoraHost host, DType dt); }

    /**
     * For every host the filter accepts: linear layers and 1x1 convolutions at (rank, alpha), larger
     * convolutions at (conv rank, conv alpha) and only when the conv rank is above 0.
     */
    static <A> void inject(Map<String, LoraHost> candidates, Predicate<String> filter, LoraSpec spec, Maker<A> maker, Attach<A> attach) {
        for (var e : candidates.entrySet()) {
            if (!filter.test(e.getKey())) continue;
            LoraHost host = e.getValue();
            long[] ws = host.weightShape();
            boolean bigConv = host.kind() == LoraHost.Kind.CONV && (ws[2] > 1 || ws[3] > 1);
            int rank = bigConv ? spec.convRank() : spec.rank();
            if (rank <= 0) continue;
            double alpha = bigConv ? spec.convAlpha() : spec.alpha();
            attach.add(e.getKey(), host, maker.make(host, rank, alpha));
        }
    }

    /** Puts the adapter under {@code name} (closing one it replaces) and attaches it to the host. */
    static <A extends Adapter> void add(Map<String, A> adapters, Map<String, LoraHost> hosts, String name, LoraHost host, A adapter,
                                        Consumer<A> closer) {
        A old = adapters.put(name, adapter);
        if (old != null) closer.accept(old);
        hosts.put(name, host);
        host.attach(adapter);
    }

    /** Adds every adapter's delta (fp64 for fp64 weights, else fp32) into its host's weight in place and detaches it. */
    static <A> void mergeIntoWeights(Map<String, A> adapters, Map<String, LoraHost> hosts, Delta<A> delta) {
        try (var ng = Autograd.noGrad(); Scope s = Scope.open()) {
            for (var e : adapters.entrySet()) {
                LoraHost host = hosts.get(e.getKey());
                if (host.quantized()) {
                    throw new IllegalStateException(e.getKey() + " holds its weight quantised (4-bit NF4 or fp8); merge the adapter into the"
                            + " base model loaded without load_in_4bit or fp8_base");
                }
                DType wt = host.weight().dtype();
                Tensor d = delta.delta(e.getValue(), host, wt == DType.F64 ? DType.F64 : DType.F32);
                host.weight().add_(d.to(wt, host.weight().device()));
                host.attach(null);
            }
        }
    }

    /** Detaches the adapters still attached to their hosts, closes them all and empties both maps. */
    static <A> void close(Map<String, A> adapters, Map<String, LoraHost> hosts, Consumer<A> closer) {
        for (var e : adapters.entrySet()) {
            LoraHost h = hosts.get(e.getKey());
            if (h.adapter() == e.getValue()) h.attach(null);
            closer.accept(e.getValue());
        }
        adapters.clear();
        hosts.clear();
    }
}
