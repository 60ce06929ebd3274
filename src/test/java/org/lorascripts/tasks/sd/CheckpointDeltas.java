package org.lorascripts.tasks.sd;

import java.io.IOException;
import java.nio.file.Path;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** Test helper: a copy of a single-file checkpoint with known low-rank deltas added to some weights. */
final class CheckpointDeltas {
    private CheckpointDeltas() {}

    /** A delta of rank 2 and size ~{@code scale}, for rows [row, row + shape[0]) of a checkpoint tensor. */
    record Delta(String key, long row, Tensor value) {}

    static Delta lowRank(String key, long row, long[] shape, double scale) {
        long in = 1;
        for (int i = 1; i < shape.length; i++) in *= shape[i];
        Tensor d = Torch.randn(shape[0], 2).mm(Torch.randn(2, in)).mul(scale).reshape(shape).keep();
        return new Delta(key, row, d);
    }

    /** Writes {@code out}: every tensor of {@code base} in {@code dtype} (metadata kept), the deltas added in fp32 first. */
    static void write(Path base, Path out, DType dtype, Delta... deltas) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(base); Scope s = Scope.open()) {
            SafetensorsWriter w = new SafetensorsWriter().putMetadata(f.metadata());
            for (String name : f.names()) {
                Tensor t = TensorIO.read(f, name, Device.CPU, DType.F32);
                for (Delta d : deltas) {
                    if (!d.key().equals(name)) continue;
                    t.narrow(0, d.row(), d.value().size(0)).add_(d.value());
                }
                TensorIO.add(w, name, t, f.info(name).dtype().isFloatingPoint() ? dtype : f.info(name).dtype());
            }
            w.write(out);
        }
    }
}
