package org.lorascripts.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/**
 * Frozen weights by name (in the spirit of candle's VarBuilder): {@code w.pp("encoder").pp("layers.0")
 * .get("weight", 768, 768)} loads {@code encoder.layers.0.weight}, checks its shape and fails with the
 * full name and both shapes. Every tensor loaded is owned here and freed by {@link #close()}; modules
 * that can carry a LoRA register themselves under their full name for the injector.
 */
public final class Weights implements AutoCloseable {
    private final Shared shared;
    private final String prefix;

    private static final class Shared {
        final WeightSource source;
        final Device device;
        final DType dtype;
        final List<Tensor> owned = new ArrayList<>();
        final Map<String, long[]> loaded = new LinkedHashMap<>();
        final Map<String, Tensor> byName = new LinkedHashMap<>();
        final Map<String, LoraHost> hosts = new LinkedHashMap<>();
        boolean loadIn4bit;
        boolean fp8Base;

        Shared(WeightSource source, Device device, DType dtype) {
            this.source = source;
            this.device = device;
            this.dtype = dtype;
        }
    }

    public Weights(WeightSource source, Device device, DType dtype) {
        this(new Shared(source, device, dtype), "");
    }

    private Weights(Shared shared, String prefix) {
        this.shared = shared;
        this.prefix = prefix;
    }

    /** A builder one level down: {@code pp("layers").pp(3)} names {@code layers.3}. */
    public Weights pp(String name) { return new Weights(shared, path(name)); }

    public Weights pp(int index) { return pp(Integer.toString(index)); }

    /** The full name of a tensor or module under this prefix. */
    public String path(String name) { return prefix.isEmpty() ? name : prefix + "." + name; }

    /** The prefix itself (the module path this builder stands for). */
    public String prefix() { return prefix; }

    public Device device() { return shared.device; }

    public DType dtype() { return shared.dtype; }

    public boolean contains(String name) { return shared.source.shape(path(name)).isPresent(); }

    /** Loads {@code prefix.name} in the compute dtype and checks its shape. */
    public Tensor get(String name, long... shape) { return get(name, shared.dtype, shape); }

    /** Loads {@code prefix.name} in a given dtype (e.g. f32 for norms or buffers). */
    public Tensor get(String name, DType dtype, long... shape) {
        Tensor t = load(name, dtype, shape);
        shared.owned.add(t);
        shared.byName.putIfAbsent(path(name), t);
        return t;
    }

    /**
     * Loads {@code prefix.name} in the compute dtype, checked as {@link #get}, without keeping it:
     * the caller owns the tensor (e.g. to quantise it and close it at once).
     */
    public Tensor take(String name, long... shape) { return load(name, shared.dtype, shape); }

    /** Hands a tensor made from loaded weights (e.g. a quantised state) to these weights: {@link #close()} frees it. */
    public void own(Tensor t) { shared.owned.add(t); }

    /**
     * Whether the linear layers built on these weights that can carry a LoRA keep their weight as
     * 4-bit NF4 ({@link LinearLayer#load}); off by default. Set it before building the model.
     */
    public void setLoadIn4bit(boolean on) { shared.loadIn4bit = on; }

    public boolean loadIn4bit() { return shared.loadIn4bit; }

    /**
     * Whether the linear and convolution layers built on these weights keep their weight as fp8
     * ({@link Fp8Weight}; kohya's {@code fp8_base}); off by default. Set it before building the layers.
     */
    public void setFp8Base(boolean on) { shared.fp8Base = on; }

    public boolean fp8Base() { return shared.fp8Base; }

    private Tensor load(String name, DType dtype, long... shape) {
        String full = path(name);
        var stored = shared.source.shape(full);
        if (stored.isPresent() && !Arrays.equals(stored.get(), shape)) {
            throw new WeightShapeException(shared.source.describe() + ": " + full + inFile(full) + " has shape " + Arrays.toString(stored.get())
                    + ", expected " + Arrays.toString(shape) + " for this model configuration");
        }
        if (stored.isEmpty() && !shared.source.synthesizes()) {
            throw new MissingWeightException(shared.source.describe() + ": missing tensor " + full + " " + Arrays.toString(shape) + inFile(full)
                    + "; the checkpoint does not match the expected architecture");
        }
        Tensor t = shared.source.load(full, shape, shared.device, dtype);
        shared.loaded.put(full, shape.clone());
        return t;
    }

    /** " (NAME in the file)" where the source stores {@code full} under another name, else "". */
    private String inFile(String full) {
        return shared.source.fileName(full).filter(f -> !f.equals(full)).map(f -> " (" + f + " in the file)").orElse("");
    }

    /** Registers a module that can carry a LoRA adapter under this builder's path. */
    public void registerLoraHost(LoraHost host) { shared.hosts.put(prefix, host); }

    /** Every LoRA-capable module by full name, in construction order. */
    public Map<String, LoraHost> loraHosts() { return Collections.unmodifiableMap(shared.hosts); }

    /** Names and shapes of everything loaded so far (e.g. to write a checkpoint of a built-in model). */
    public Map<String, long[]> loadedShapes() { return Collections.unmodifiableMap(shared.loaded); }

    /** Every loaded tensor by full name, in load order. */
    public Map<String, Tensor> loadedTensors() {
        return Collections.unmodifiableMap(shared.byName);
    }

    public String describeSource() { return shared.source.describe(); }

    @Override public void close() {
        for (Tensor t : shared.owned) t.close();
        shared.owned.clear();
        shared.byName.clear();
    }
}
