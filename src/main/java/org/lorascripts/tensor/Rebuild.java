package org.lorascripts.tensor;

import java.util.List;
import java.util.function.Function;

/**
 * A recipe that makes a tensor's value again, bit for bit, from {@code sources}: tensors an operation's backward keeps
 * anyway. An operation that would save the tensor for its backward (a LoRA's down projection saving a norm's output)
 * may save the sources instead and read {@link #value} in backward, so the tensor itself is freed once its forward
 * readers are done. For RMSNorm the sources are the norm's input and weight, which the norm keeps for its own
 * backward: one activation of the hidden size per norm less to keep.
 *
 * <p>Several readers (q, k and v over one norm output) share one remake: each registers with {@link #addReader} in
 * forward and calls {@link #value} once in backward; the first call makes the value, the last one frees it.
 */
public final class Rebuild {
    /** {@code LORA_REBUILD=0}: no recipes (see {@link Tensor#rebuildableBy}). */
    static final boolean OFF = EnvSwitch.off("LORA_REBUILD");

    private final List<Tensor> sources;
    private final Function<List<Tensor>, Tensor> make;
    private int readers;
    private Tensor cached;

    /**
     * @param sources tensors without autograd history, each saved by the tensor's own producer
     * @param make    the value from tensors like {@code sources} (as saved, in order), computed without autograd
     *                history; it must read nothing but its argument (the forward's wrappers close with their scope)
     */
    public Rebuild(List<Tensor> sources, Function<List<Tensor>, Tensor> make) {
        this.sources = List.copyOf(sources);
        this.make = make;
    }

    public List<Tensor> sources() { return sources; }

    public Function<List<Tensor>, Tensor> make() { return make; }

    /** Whether every source is still open (a recipe whose sources a closed scope freed cannot serve). */
    public boolean usable() { return sources.stream().noneMatch(Tensor::isClosed); }

    /** One more reader that will call {@link #value} once in backward. */
    public synchronized void addReader() { readers++; }

    /**
     * The value, from {@code saved} (the sources as a reader saved them): made on the first call and kept for the
     * other registered readers, freed after the last one's call. The returned alias belongs to the caller's scope.
     */
    public synchronized Tensor value(List<Tensor> saved) {
        if (cached == null) cached = make.apply(saved).keep();
        Tensor alias = cached.detach();
        if (--readers <= 0) {
            cached.close();
            cached = null;
            readers = 0;
        }
        return alias;
    }
}
