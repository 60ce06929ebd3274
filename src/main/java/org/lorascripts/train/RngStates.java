package org.lorascripts.train;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Tensor;

/**
 * The states of libtorch's default generators of the devices a run uses (the CPU, and the CUDA
 * device when training there), as u8 tensors. Captured into checkpoints, and around validation and
 * sampling, which run under a fixed seed and must leave the training stream where it was.
 */
final class RngStates implements AutoCloseable {
    private final Map<Device, Tensor> states;

    private RngStates(Map<Device, Tensor> states) {
        this.states = states;
    }

    static List<Device> devicesOf(Device training) {
        List<Device> r = new ArrayList<>();
        r.add(Device.CPU);
        if (training.isCuda()) r.add(training);
        return r;
    }

    /** The current states (owned by the returned object, outside any scope). */
    static RngStates capture(Device training) {
        Map<Device, Tensor> m = new LinkedHashMap<>();
        for (Device d : devicesOf(training)) m.put(d, Rng.getState(d).keep());
        return new RngStates(m);
    }

    /** Seeds every generator the run uses with {@code seed}. */
    static void seed(Device training, long seed) {
        for (Device d : devicesOf(training)) Rng.manualSeed(d, seed);
    }

    /** Puts the captured states back. */
    void restore() {
        for (var e : states.entrySet()) Rng.setState(e.getKey(), e.getValue());
    }

    /** Name of a device's state in trainer_state.safetensors: {@code rng/cpu}, {@code rng/cuda:0}. */
    static String key(Device d) { return "rng/" + d; }

    Map<Device, Tensor> states() { return states; }

    /** Runs {@code body} with the run's generators seeded with {@code seed}, then restores them. */
    static void withSeed(Device training, long seed, Runnable body) {
        try (RngStates saved = capture(training)) {
            seed(training, seed);
            try {
                body.run();
            } finally {
                saved.restore();
            }
        }
    }

    @Override public void close() {
        for (Tensor t : states.values()) t.close();
    }
}
