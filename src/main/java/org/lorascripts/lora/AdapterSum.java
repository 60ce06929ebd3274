package org.lorascripts.lora;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.nn.Adapter;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.Tensor;

/**
 * Several adapters on one module, their outputs added: how a host carries more than one LoRA at a
 * time (e.g. two {@code <lora:...>} tags in a prompt), since a host holds a single adapter.
 */
public final class AdapterSum implements Adapter {
    private final List<Adapter> parts;

    public AdapterSum(List<? extends Adapter> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("an adapter sum needs at least one adapter");
        this.parts = List.copyOf(parts);
    }

    @Override public Tensor apply(Tensor input) {
        Tensor y = parts.getFirst().apply(input);
        for (int i = 1; i < parts.size(); i++) y = y.add(parts.get(i).apply(input));
        return y;
    }

    /** Each adapter in turn on the output so far (a DoRA reads the host's weight, not the sum's output). */
    @Override public Tensor addTo(Tensor hostOutput, Tensor input, LoraHost host) {
        Tensor y = hostOutput;
        for (Adapter a : parts) y = a.addTo(y, input, host);
        return y;
    }

    @Override public boolean readsHostOutput() { return parts.stream().anyMatch(Adapter::readsHostOutput); }

    @Override public List<Tensor> parameters() {
        List<Tensor> ps = new ArrayList<>();
        for (Adapter a : parts) ps.addAll(a.parameters());
        return ps;
    }
}
