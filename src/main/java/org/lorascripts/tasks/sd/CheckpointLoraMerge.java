package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * Folds kohya LoRAs into an LDM single-file checkpoint, as sd-scripts' {@code networks/merge_lora.py}
 * ({@code merge_to_sd_model}): for each module {@code W ← W + Σ weight_i · (alpha_i / rank_i) · up_i · down_i}
 * (convolutions flattened; OpenCLIP q/k/v into their rows of {@code in_proj_weight}), computed in fp32 and stored
 * back in the tensor's own dtype. Every other tensor and the metadata are copied unchanged; the file is streamed
 * (one changed tensor in memory at a time) and written atomically.
 */
public final class CheckpointLoraMerge {
    private CheckpointLoraMerge() {}

    /** A LoRA file with its weight. */
    public record Weighted(KohyaLoraReader.LoraFile lora, double weight) {}

    /** What was merged: the family and, per LoRA, how many modules. */
    public record Report(SdFamily family, List<Integer> modulesPerLora, int tensorsChanged) {}

    private record Contribution(CheckpointLoraTargets.Target target, KohyaLoraReader.Module module, double weight) {}

    public static Report merge(Path checkpoint, List<Weighted> loras, Path output) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(checkpoint)) {
            var layout = CheckpointLoraTargets.of(checkpoint, f, true);
            Map<String, CheckpointLoraTargets.Target> byName = new LinkedHashMap<>();
            for (var t : layout.targets()) byName.put(t.loraName(), t);
            Map<String, List<Contribution>> byKey = new LinkedHashMap<>();
            List<Integer> counts = new ArrayList<>();
            for (Weighted w : loras) {
                List<String> unknown = new ArrayList<>();
                for (KohyaLoraReader.Module m : w.lora().modules().values()) {
                    var t = byName.get(m.loraName());
                    if (t == null) {
                        unknown.add(m.loraName());
                        continue;
                    }
                    long[] shape = t.shape();
                    long in = 1;
                    for (int i = 1; i < shape.length; i++) in *= shape[i];
                    if (m.up().size(0) != shape[0] || m.down().numel() / m.rank() != in) {
                        throw new IllegalArgumentException(w.lora().path() + ": " + m.loraName() + " is " + m.up().size(0) + "x"
                                + (m.down().numel() / m.rank()) + " but the checkpoint's " + t.key() + " needs " + TensorInfo.shapeString(shape)
                                + "; the LoRA was made for another model");
                    }
                    byKey.computeIfAbsent(t.key(), k -> new ArrayList<>()).add(new Contribution(t, m, w.weight()));
                }
                if (!unknown.isEmpty()) {
                    throw new IllegalArgumentException(w.lora().path() + ": " + unknown.size() + " of " + w.lora().modules().size()
                            + " modules match no weight of " + checkpoint.getFileName() + " (" + layout.family().displayName + "), e.g. "
                            + String.join(", ", unknown.subList(0, Math.min(3, unknown.size()))) + "; is the LoRA for another base model?");
                }
                counts.add(w.lora().modules().size());
            }
            SafetensorsWriter out = new SafetensorsWriter().putMetadata(f.metadata());
            for (String name : f.names()) {
                TensorInfo info = f.info(name);
                List<Contribution> cs = byKey.get(name);
                if (cs == null) {
                    out.add(name, info.dtype(), info.shape(), f.data(name));
                } else {
                    out.add(name, info.dtype(), info.shape(), ch -> {
                        try (var ng = Autograd.noGrad(); Scope s = Scope.open(); Arena arena = Arena.ofConfined()) {
                            Tensor w = TensorIO.read(f, name, Device.CPU, DType.F32);
                            for (Contribution c : cs) {
                                long[] shape = c.target().shape();
                                KohyaLoraReader.Module m = c.module();
                                Tensor delta = m.up().reshape(shape[0], m.rank()).mm(m.down().reshape(m.rank(), -1)).reshape(shape);
                                w.narrow(0, c.target().rowStart(), shape[0]).add_(delta, c.weight() * m.scale());
                            }
                            Tensor cast = w.to(info.dtype()).contiguous();
                            MemorySegment seg = arena.allocate(Math.max(info.byteLength(), 1), 8).asSlice(0, info.byteLength());
                            cast.copyTo(seg);
                            ByteBufferWriter.writeAll(ch, seg);
                        }
                    });
                }
            }
            out.write(output);
            return new Report(layout.family(), counts, byKey.size());
        }
    }

    /** Writes a native segment to a channel in ByteBuffer slices. */
    static final class ByteBufferWriter {
        private ByteBufferWriter() {}

        static void writeAll(java.nio.channels.WritableByteChannel ch, MemorySegment seg) throws IOException {
            for (long off = 0; off < seg.byteSize(); off += 1L << 30) {
                var buf = seg.asSlice(off, Math.min(1L << 30, seg.byteSize() - off)).asByteBuffer();
                while (buf.hasRemaining()) ch.write(buf);
            }
        }
    }
}
