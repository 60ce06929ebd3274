package org.lorascripts.nn;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.function.ToDoubleFunction;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Deterministic random weights for any requested name and shape: each tensor is drawn from the
 * CPU generator seeded by (seed, name), so the same model comes out on every machine. Used for the
 * built-in tiny models and for full-size shape benchmarks. Norm weights are ones, biases zeros.
 */
public final class RandomWeights implements WeightSource {
    /** The standard deviation of a weight, from its full name and shape. */
    @FunctionalInterface
    public interface Std {
        double of(String name, long[] shape);
    }

    private final long seed;
    private final Std std;
    private boolean drawOnDevice;

    /** {@code std} gives the standard deviation for a weight's full name. */
    public RandomWeights(long seed, ToDoubleFunction<String> std) {
        this(seed, (Std) (name, shape) -> std.applyAsDouble(name));
    }

    /** {@code std} gives the standard deviation for a weight's full name and shape. */
    public RandomWeights(long seed, Std std) {
        this.seed = seed;
        this.std = std;
    }

    public RandomWeights(long seed) { this(seed, (Std) (name, shape) -> 0.02); }

    /**
     * Weights to train from scratch: matrices and kernels N(0, 1/fan_in) (LeCun normal; fan_in =
     * in-features × kernel area), token and position embeddings N(0, 0.02), norms one, biases zero.
     */
    public static RandomWeights fanIn(long seed) {
        return new RandomWeights(seed, (Std) (name, shape) -> {
            if (isEmbeddingTable(name) || shape.length < 2) return 0.02;
            long fanIn = 1;
            for (int i = 1; i < shape.length; i++) fanIn *= shape[i];
            return 1.0 / Math.sqrt(fanIn);
        });
    }

    private static boolean isEmbeddingTable(String name) {
        return name.endsWith("token_embedding.weight") || name.endsWith("position_embedding.weight") || name.endsWith("embed_tokens.weight");
    }

    /**
     * Draws CUDA weights on the device itself (fast, for full-size benchmarks); the values then
     * depend on the device's generator instead of being the same on every machine.
     */
    public RandomWeights onDevice() {
        drawOnDevice = true;
        return this;
    }

    @Override public Optional<long[]> shape(String name) { return Optional.empty(); }

    @Override public boolean synthesizes() { return true; }

    @Override public Tensor load(String name, long[] shape, Device device, DType dtype) {
        String leaf = name.substring(name.lastIndexOf('.') + 1);
        if (leaf.equals("bias") || leaf.equals("beta")) return Torch.zeros(shape, dtype, device);
        if (isNormWeight(name)) return Torch.ones(shape, dtype, device);
        if (drawOnDevice && device.isCuda()) {
            Rng.manualSeed(device, seed * 1_000_003L + fnv(name));
            try (Tensor t = Torch.randn(shape, dtype, device)) {
                return t.mul(std.of(name, shape));
            }
        }
        Tensor state = Rng.getState(Device.CPU);
        try {
            Rng.manualSeed(Device.CPU, seed * 1_000_003L + fnv(name));
            try (Tensor t = Torch.randn(shape, DType.F32, Device.CPU)) {
                try (Tensor scaled = t.mul(std.of(name, shape))) {
                    return scaled.to(dtype, device);
                }
            }
        } finally {
            Rng.setState(Device.CPU, state);
            state.close();
        }
    }

    private static boolean isNormWeight(String name) {
        String n = name.toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".weight") && (n.contains("norm") || n.contains("ln_") || n.endsWith("layernorm.weight"));
    }

    private static long fnv(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h & Long.MAX_VALUE;
    }

    @Override public String describe() { return "random weights (seed " + seed + ")"; }
}
