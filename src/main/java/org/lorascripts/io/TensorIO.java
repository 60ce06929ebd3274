package org.lorascripts.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** Moves tensors between safetensors files and the engine. */
public final class TensorIO {
    private TensorIO() {}

    /** Reads one tensor into a new CPU tensor of the file's dtype (a copy: the file may be closed afterwards). */
    public static Tensor read(TensorSource src, String name) throws IOException {
        TensorInfo info = src.info(name);
        info.dtype().requireAvailable("tensor '" + name + "'");
        return Torch.fromSegment(src.data(name), info.dtype(), info.shape());
    }

    /** Reads one tensor onto a device in a dtype (null keeps the file's dtype). */
    public static Tensor read(TensorSource src, String name, Device device, DType dtype) throws IOException {
        TensorInfo info = src.info(name);
        info.dtype().requireAvailable("tensor '" + name + "'");
        DType target = dtype == null ? info.dtype() : dtype;
        try (Tensor cpu = Torch.fromSegment(src.data(name), info.dtype(), info.shape())) {
            return cpu.to(target, device);
        }
    }

    /** Copies a tensor's bytes (as {@code dtype}, on the CPU) into the writer. */
    public static void add(SafetensorsWriter w, String name, Tensor t, DType dtype) {
        long[] shape = t.shape();
        try (Tensor c = t.detach(); Tensor cast = c.to(dtype, Device.CPU)) {
            long bytes = cast.numel() * dtype.byteSize;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment seg = a.allocate(Math.max(bytes, 1), 8);
                cast.copyTo(seg.asSlice(0, bytes));
                byte[] data = seg.asSlice(0, bytes).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                w.add(name, dtype, shape, data);
            }
        }
    }

    /** Writes named tensors (in their own dtypes) and metadata atomically. */
    public static void save(java.nio.file.Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter();
        if (metadata != null) w.putMetadata(metadata);
        for (var e : tensors.entrySet()) add(w, e.getKey(), e.getValue(), e.getValue().dtype());
        w.write(path);
    }
}
