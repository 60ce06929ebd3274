package org.lorascripts.io.gguf;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The header of a GGUF file (metadata and tensor infos), read from untrusted input: every count and length
 * is checked against the bytes the file has left before anything is allocated, dims are at most ggml's 4,
 * and every tensor's data must lie inside the file. Array values are kept as a summary (type, length and the
 * first few scalars), so a 150k-token vocabulary costs nothing. Big-endian files are refused.
 */
public record GgufHeader(int version, Map<String, Object> metadata, List<Info> tensors, long dataStart, int alignment, long fileSize) {

    /** One tensor: {@code shape} outermost first (PyTorch order, ggml's ne reversed), its ggml type code, data offset from {@link #dataStart}. */
    public record Info(String name, int type, long[] shape, long offset) {
        public String typeName() { return GgufTypes.tensorTypeName(type); }

        /** Data bytes for the plain float types, -1 for others. */
        public long byteLength() {
            GgufTypes.TensorType t = GgufTypes.TensorType.of(type);
            if (t == null) return -1;
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return Math.multiplyExact(n, t.byteSize);
        }
    }

    /** An array value's summary. */
    public record ArrayValue(GgufTypes.ValueType type, long length, List<Object> head) {
        @Override public String toString() {
            return "[" + length + " x " + type.name().toLowerCase(java.util.Locale.ROOT) + (head.isEmpty() ? "" : ": " + head
                    + (length > head.size() ? " ..." : "")) + "]";
        }
    }

    static final int MAX_DIMS = 4;
    static final long MAX_STRING = 64L << 20;

    public static boolean isGguf(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            return ch.read(b, 0) == 4 && b.getInt(0) == GgufTypes.MAGIC;
        } catch (IOException e) {
            return false;
        }
    }

    public static GgufHeader read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Cursor c = new Cursor(ch, file);
            if (c.u32() != GgufTypes.MAGIC) throw c.bad("not a GGUF file (no GGUF magic)");
            int version = c.u32();
            if (version != 2 && version != 3) {
                throw c.bad("GGUF version " + Integer.toUnsignedString(version) + " is not supported (2 or 3; a big-endian file reads as a huge version)");
            }
            long nTensors = c.u64(), nKv = c.u64();
            // every metadata entry takes at least 12 bytes, every tensor info at least 24: counts beyond the file are lies
            if (nKv < 0 || nKv > c.remaining() / 12) throw c.bad("metadata count " + Long.toUnsignedString(nKv) + " does not fit the file");
            if (nTensors < 0 || nTensors > c.remaining() / 24) throw c.bad("tensor count " + Long.toUnsignedString(nTensors) + " does not fit the file");
            Map<String, Object> meta = new LinkedHashMap<>();
            for (long i = 0; i < nKv; i++) {
                String key = c.string();
                GgufTypes.ValueType t = c.type();
                meta.put(key, c.value(t, 0));
            }
            int alignment = GgufTypes.DEFAULT_ALIGNMENT;
            if (meta.get("general.alignment") instanceof Long a) {
                if (a <= 0 || a > (1 << 20) || (a & (a - 1)) != 0) throw c.bad("general.alignment " + a + " is not a power of two");
                alignment = (int) (long) a;
            }
            List<Info> infos = new ArrayList<>();
            for (long i = 0; i < nTensors; i++) {
                String name = c.string();
                int nDims = c.u32();
                if (nDims < 1 || nDims > MAX_DIMS) throw c.bad("tensor " + name + " has " + Integer.toUnsignedString(nDims) + " dims (1 to " + MAX_DIMS + ")");
                long[] shape = new long[nDims];
                for (int j = nDims - 1; j >= 0; j--) {
                    shape[j] = c.u64();
                    if (shape[j] < 0 || shape[j] > c.fileSize * 8) throw c.bad("tensor " + name + " has dimension " + Long.toUnsignedString(shape[j]));
                }
                int type = c.u32();
                long offset = c.u64();
                if (offset < 0 || offset % alignment != 0) throw c.bad("tensor " + name + " has offset " + Long.toUnsignedString(offset) + ", not aligned to " + alignment);
                infos.add(new Info(name, type, shape, offset));
            }
            long dataStart = GgufTypes.pad(c.pos, alignment);
            long fileSize = c.fileSize;
            for (Info t : infos) {
                long n;
                try {
                    n = t.byteLength();
                } catch (ArithmeticException e) {
                    throw c.bad("tensor " + t.name() + " is too large");
                }
                if (n >= 0 && (dataStart + t.offset() > fileSize || n > fileSize - dataStart - t.offset())) {
                    throw c.bad("tensor " + t.name() + "'s data lies past the end of the file (truncated?)");
                }
            }
            return new GgufHeader(version, meta, infos, dataStart, alignment, fileSize);
        }
    }

    /** Reads a tensor's raw bytes (plain float types only), checked against the file. */
    public static byte[] readData(Path file, GgufHeader h, Info t) throws IOException {
        long n = t.byteLength();
        if (n < 0 || n > Integer.MAX_VALUE - 8) throw new IOException(file + ": tensor " + t.name() + " cannot be read as a plain array");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate((int) n);
            long at = h.dataStart() + t.offset();
            while (b.hasRemaining()) {
                int r = ch.read(b, at + b.position());
                if (r < 0) throw new IOException(file + ": tensor " + t.name() + " is cut short");
            }
            return b.array();
        }
    }

    /** Sequential little-endian reads with the file's remaining size as the bound of every length. */
    private static final class Cursor {
        private final FileChannel ch;
        private final Path file;
        final long fileSize;
        long pos;
        private final ByteBuffer small = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        Cursor(FileChannel ch, Path file) throws IOException {
            this.ch = ch;
            this.file = file;
            this.fileSize = ch.size();
        }

        long remaining() { return fileSize - pos; }

        IOException bad(String what) { return new IOException(file + ": " + what + " (at byte " + pos + ")"); }

        private ByteBuffer read(int n) throws IOException {
            if (n > remaining()) throw bad("the header is cut short");
            small.clear().limit(n);
            while (small.hasRemaining()) if (ch.read(small, pos + small.position()) < 0) throw bad("the header is cut short");
            pos += n;
            return small.flip();
        }

        int u32() throws IOException { return read(4).getInt(); }

        long u64() throws IOException { return read(8).getLong(); }

        GgufTypes.ValueType type() throws IOException {
            int code = u32();
            GgufTypes.ValueType t = GgufTypes.ValueType.of(code);
            if (t == null) throw bad("unknown metadata value type " + Integer.toUnsignedString(code));
            return t;
        }

        String string() throws IOException {
            long n = u64();
            if (n < 0 || n > remaining() || n > MAX_STRING) throw bad("string of " + Long.toUnsignedString(n) + " bytes does not fit the file");
            ByteBuffer b = ByteBuffer.allocate((int) n);
            while (b.hasRemaining()) if (ch.read(b, pos + b.position()) < 0) throw bad("the header is cut short");
            pos += n;
            return new String(b.array(), StandardCharsets.UTF_8);
        }

        Object value(GgufTypes.ValueType t, int depth) throws IOException {
            return switch (t) {
                case UINT8 -> (long) (read(1).get() & 0xff);
                case INT8 -> (long) read(1).get();
                case UINT16 -> (long) (read(2).getShort() & 0xffff);
                case INT16 -> (long) read(2).getShort();
                case UINT32 -> read(4).getInt() & 0xffffffffL;
                case INT32 -> (long) read(4).getInt();
                case UINT64, INT64 -> read(8).getLong();
                case FLOAT32 -> (double) read(4).getFloat();
                case FLOAT64 -> read(8).getDouble();
                case BOOL -> read(1).get() != 0;
                case STRING -> string();
                case ARRAY -> {
                    if (depth > 2) throw bad("arrays nested too deep");
                    GgufTypes.ValueType et = type();
                    long n = u64();
                    long min = et.size > 0 ? et.size : 8;
                    if (n < 0 || n > remaining() / min) throw bad("array of " + Long.toUnsignedString(n) + " values does not fit the file");
                    List<Object> head = new ArrayList<>();
                    if (et.size > 0) {
                        for (long i = 0; i < Math.min(n, 8); i++) head.add(value(et, depth + 1));
                        long skip = (n - Math.min(n, 8)) * et.size;
                        pos += skip;
                    } else {
                        for (long i = 0; i < n; i++) {
                            Object v = value(et, depth + 1);
                            if (i < 8) head.add(v);
                        }
                    }
                    yield new ArrayValue(et, n, head);
                }
            };
        }
    }
}
