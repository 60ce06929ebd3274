package org.lorascripts.nn;

import java.util.Optional;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/** Where a model's frozen weights come from: a checkpoint, or deterministic random values. */
public interface WeightSource {
    /** The shape stored for a full tensor name, or empty when absent. */
    Optional<long[]> shape(String name);

    /**
     * Loads a tensor onto the device in the dtype; the caller owns it. {@code expectedShape} is
     * used by sources that synthesise weights; checkpoint sources check it before loading.
     */
    Tensor load(String name, long[] expectedShape, Device device, DType dtype);

    /** For error messages: the file or origin of the weights. */
    String describe();

    /**
     * For error messages: the name the file stores a tensor under, where the source renames (e.g. an
     * LDM single file's name for an HF name); empty when the names are the same or unknown.
     */
    default Optional<String> fileName(String name) { return Optional.empty(); }

    /**
     * True for sources that make up a tensor for any name asked (random weights, shape-only
     * stand-ins): {@link #shape} then knows no name, and a name it does not know is not missing.
     */
    default boolean synthesizes() { return false; }
}
