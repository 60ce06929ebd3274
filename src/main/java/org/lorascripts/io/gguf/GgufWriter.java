package org.lorascripts.io.gguf;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.AtomicFileWriter;

/**
 * Writes a GGUF v3 file, little-endian, laid out as ggml's {@code docs/gguf.md} and the Python {@code gguf}
 * package's {@code GGUFWriter} lay it out: header (magic, version, tensor count, metadata count), metadata in
 * insertion order (key as uint64-length string, uint32 type, value), tensor infos (name, dims innermost first,
 * type, data offset rounded up to the alignment), zero padding to the alignment, then each tensor's data followed
 * by padding to the alignment. Shapes are given in PyTorch/numpy order (outermost first) and written reversed, as
 * ggml's {@code ne}. Atomic: the file appears complete or not at all.
 */
public final class GgufWriter {
    private record Value(GgufTypes.ValueType type, Object value) {}

    private record Tensor(String name, GgufTypes.TensorType type, long[] shape, byte[] data) {}

    private final Map<String, Value> kv = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private final int alignment = GgufTypes.DEFAULT_ALIGNMENT;

    public GgufWriter putString(String key, String value) { return put(key, GgufTypes.ValueType.STRING, value); }

    public GgufWriter putFloat32(String key, float value) { return put(key, GgufTypes.ValueType.FLOAT32, value); }

    public GgufWriter putUint32(String key, int value) { return put(key, GgufTypes.ValueType.UINT32, value); }

    public GgufWriter putBool(String key, boolean value) { return put(key, GgufTypes.ValueType.BOOL, value); }

    private GgufWriter put(String key, GgufTypes.ValueType type, Object value) {
        if (key == null || value == null) throw new IllegalArgumentException("GGUF metadata key and value must not be null (key " + key + ")");
        kv.put(key, new Value(type, value));
        return this;
    }

    /** Adds a tensor; {@code shape} outermost first (PyTorch order), {@code data} little-endian row-major bytes. */
    public GgufWriter addTensor(String name, GgufTypes.TensorType type, long[] shape, byte[] data) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n * type.byteSize != data.length) {
            throw new IllegalArgumentException("GGUF tensor " + name + ": " + data.length + " bytes for " + n + " " + type + " values");
        }
        for (Tensor t : tensors) if (t.name().equals(name)) throw new IllegalArgumentException("GGUF tensor " + name + " added twice");
        tensors.add(new Tensor(name, type, shape.clone(), data));
        return this;
    }

    public void write(Path target) throws IOException { AtomicFileWriter.write(target, this::writeTo); }

    public void writeTo(OutputStream out) throws IOException {
        Counting o = new Counting(out);
        o.u32(GgufTypes.MAGIC);
        o.u32(GgufTypes.VERSION);
        o.u64(tensors.size());
        o.u64(kv.size());
        for (var e : kv.entrySet()) {
            o.string(e.getKey());
            o.u32(e.getValue().type().code);
            switch (e.getValue().type()) {
                case STRING -> o.string((String) e.getValue().value());
                case FLOAT32 -> o.u32(Float.floatToRawIntBits((Float) e.getValue().value()));
                case UINT32 -> o.u32((Integer) e.getValue().value());
                case BOOL -> o.bytes(new byte[] {(byte) ((Boolean) e.getValue().value() ? 1 : 0)});
                default -> throw new IllegalStateException("unwritten type " + e.getValue().type());
            }
        }
        long offset = 0;
        for (Tensor t : tensors) {
            o.string(t.name());
            o.u32(t.shape().length);
            for (int j = t.shape().length - 1; j >= 0; j--) o.u64(t.shape()[j]);
            o.u32(t.type().code);
            o.u64(offset);
            offset += GgufTypes.pad(t.data().length, alignment);
        }
        o.zeros(GgufTypes.pad(o.count, alignment) - o.count);
        for (Tensor t : tensors) {
            o.bytes(t.data());
            o.zeros(GgufTypes.pad(t.data().length, alignment) - t.data().length);
        }
        out.flush();
    }

    /** Little-endian primitives with a byte count (for the padding). */
    private static final class Counting {
        private final OutputStream out;
        private final ByteBuffer buf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        long count;

        Counting(OutputStream out) { this.out = out; }

        void u32(int v) throws IOException { bytes(buf.clear().putInt(v).array(), 4); }

        void u64(long v) throws IOException { bytes(buf.clear().putLong(v).array(), 8); }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void bytes(byte[] b) throws IOException { bytes(b, b.length); }

        void bytes(byte[] b, int n) throws IOException {
            out.write(b, 0, n);
            count += n;
        }

        void zeros(long n) throws IOException {
            for (long i = 0; i < n; i++) out.write(0);
            count += n;
        }
    }
}
