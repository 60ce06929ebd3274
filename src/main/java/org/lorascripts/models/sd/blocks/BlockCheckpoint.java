package org.lorascripts.models.sd.blocks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.lorascripts.nn.Adapter;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * Gradient checkpointing of one block (a resnet or a transformer block): the block's forward is
 * re-run in backward instead of keeping its activations. The adapters attached to the block's
 * modules at call time are passed as the segment's params so their LoRA weights get gradients.
 */
public final class BlockCheckpoint {
    private final List<LoraHost> hosts;

    /** The LoRA hosts registered under {@code prefix} (the block's diffusers path). */
    public BlockCheckpoint(Map<String, LoraHost> allHosts, String prefix) {
        hosts = new ArrayList<>();
        for (var e : allHosts.entrySet()) if (e.getKey().startsWith(prefix + ".")) hosts.add(e.getValue());
    }

    /** The block's forward, told whether this run is the checkpoint's recompute for backward ({@link Checkpoint.RecomputeAware}). */
    @FunctionalInterface
    public interface Body {
        Tensor apply(List<Tensor> inputs, boolean recompute);
    }

    /** fn(inputs) checkpointed when {@code on}, else called directly. Inputs may contain nulls (not passed). */
    public Tensor run(boolean on, Function<List<Tensor>, Tensor> fn, Tensor... inputs) {
        return run(on, (in, recompute) -> fn.apply(in), inputs);
    }

    /**
     * As {@link #run(boolean, Function, Tensor...)}, telling {@code fn} which run is the recompute for backward (a
     * direct call, {@code on} false, is never one): that run may compute its last product for the gradients alone.
     */
    public Tensor run(boolean on, Body fn, Tensor... inputs) {
        if (!on) return Scope.scoped(() -> fn.apply(java.util.Arrays.asList(inputs), false));
        List<Tensor> present = new ArrayList<>();
        for (Tensor t : inputs) if (t != null) present.add(t);
        List<Tensor> params = new ArrayList<>();
        for (LoraHost h : hosts) {
            Adapter a = h.adapter();
            if (a != null) params.addAll(a.parameters());
        }
        return Checkpoint.applyAware((in, recompute) -> {
            List<Tensor> full = new ArrayList<>(inputs.length);
            int k = 0;
            for (Tensor t : inputs) full.add(t == null ? null : in.get(k++));
            return List.of(fn.apply(full, recompute));
        }, present, params, 1).get(0);
    }
}
