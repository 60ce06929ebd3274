package org.lorascripts.nn;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.io.TensorSource;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Weights from a safetensors source, under the model's own names mapped to the file's names
 * ({@code toFileName}, e.g. diffusers names to LDM names). Tensors are copied out of the memory
 * map by default. With {@link #zeroCopy()}, CPU tensors stored in the requested dtype are wrapped in
 * place over the read-only mapping instead: the source must stay open while the model lives and
 * those weights must never be written (no in-place LoRA merge).
 */
public final class CheckpointWeights implements WeightSource {
    private final TensorSource source;
    private final UnaryOperator<String> toFileName;
    private final String label;
    private boolean zeroCopy;

    public CheckpointWeights(TensorSource source, UnaryOperator<String> toFileName, String label) {
        this.source = source;
        this.toFileName = toFileName;
        this.label = label;
    }

    public CheckpointWeights(TensorSource source, String label) { this(source, UnaryOperator.identity(), label); }

    /** Wrap matching CPU tensors over the mapping instead of copying them (read-only weights). */
    public CheckpointWeights zeroCopy() {
        zeroCopy = true;
        return this;
    }

    @Override public Optional<long[]> shape(String name) {
        String file = toFileName.apply(name);
        if (file == null || !source.contains(file)) return Optional.empty();
        try {
            return Optional.of(source.info(file).shape());
        } catch (IOException e) {
            throw new UncheckedIOException(label + ": " + e.getMessage(), e);
        }
    }

    @Override public Tensor load(String name, long[] expectedShape, Device device, DType dtype) {
        String file = toFileName.apply(name);
        try {
            TensorInfo info = source.info(file);
            if (zeroCopy && !device.isCuda() && info.dtype() == dtype) {
                return Torch.wrapSegment(source.data(file), dtype, info.shape());
            }
            try (Tensor cpu = Torch.wrapSegment(source.data(file), info.dtype(), info.shape())) {
                // .to() returns the same tensor when nothing changes: force a copy off the mapping
                return info.dtype() == dtype && !device.isCuda() ? cpu.copy() : cpu.to(dtype, device);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(label + ": cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    @Override public String describe() { return label; }
}
