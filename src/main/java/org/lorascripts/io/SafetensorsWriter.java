package org.lorascripts.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import org.lorascripts.tensor.DType;

/**
 * Collects tensors and metadata, then writes a safetensors file laid out exactly as the
 * reference Rust writer ({@code safetensors::tensor::prepare}) does, so the same content gives
 * the same bytes as Python's {@code safetensors.torch.save_file}:
 * <ul>
 *   <li>tensors ordered by dtype, largest alignment first (the reference's dtype enum order,
 *       descending), then by name (UTF-8 byte order); data laid out in that order, so every
 *       tensor is aligned to its element size;</li>
 *   <li>compact JSON header, {@code __metadata__} first, then tensors in data order, each with
 *       {@code dtype}, {@code shape}, {@code data_offsets};</li>
 *   <li>header padded with spaces to a multiple of 8 bytes.</li>
 * </ul>
 * One difference: the reference keeps {@code __metadata__} in a hash map, so with several keys
 * its order varies between runs; we sort the keys, so our output is deterministic.
 *
 * <p>Writing is atomic: data is streamed (never assembled in memory) to {@code .NAME.tmp-RANDOM}
 * beside the target, forced to disk, then renamed over the target. On any failure the temp
 * file is deleted and an existing target is left untouched.
 */
public final class SafetensorsWriter {

    /** Streams exactly the tensor's byte length, little-endian, row-major. */
    @FunctionalInterface
    public interface DataSource {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    private record Entry(String name, DType dtype, long[] shape, long byteLength, DataSource source) {}

    /** ByteBuffers address at most 2 GiB; larger segments are written in slices of this size. */
    private static final long CHUNK = 1L << 30;

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new TreeMap<>();

    public SafetensorsWriter putMetadata(String key, String value) {
        if (key == null || value == null) throw new IllegalArgumentException("metadata key and value must not be null (key " + key + ")");
        metadata.put(key, value);
        return this;
    }

    public SafetensorsWriter putMetadata(Map<String, String> all) {
        all.forEach(this::putMetadata);
        return this;
    }

    public SafetensorsWriter add(String name, DType dtype, long[] shape, byte[] data) {
        checkLength(name, dtype, shape, data.length);
        byte[] copy = data.clone(); // the caller may reuse its array before write()
        return put(name, dtype, shape, data.length, out -> writeAll(out, ByteBuffer.wrap(copy)));
    }

    /** The segment is read at {@link #write} time, so it must still be alive then. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, MemorySegment data) {
        checkLength(name, dtype, shape, data.byteSize());
        return put(name, dtype, shape, data.byteSize(), out -> writeSegment(out, data));
    }

    /** Bytes go out in the segment's memory order, so heap segments over float[] etc. must hold little-endian data. */
    private static void writeSegment(WritableByteChannel out, MemorySegment data) throws IOException {
        boolean bufferable = data.heapBase().map(base -> base instanceof byte[]).orElse(true);
        if (bufferable) {
            for (long off = 0; off < data.byteSize(); off += CHUNK) {
                writeAll(out, data.asSlice(off, Math.min(CHUNK, data.byteSize() - off)).asByteBuffer());
            }
            return;
        }
        // A heap segment over a non-byte array (e.g. MemorySegment.ofArray(float[])) has no ByteBuffer view.
        byte[] staging = new byte[(int) Math.min(data.byteSize(), 1 << 20)];
        for (long off = 0; off < data.byteSize(); off += staging.length) {
            int n = (int) Math.min(staging.length, data.byteSize() - off);
            MemorySegment.copy(data, off, MemorySegment.ofArray(staging), 0, n);
            writeAll(out, ByteBuffer.wrap(staging, 0, n));
        }
    }

    /** The source must write exactly product(shape) * dtype size bytes; the writer checks. */
    public SafetensorsWriter add(String name, DType dtype, long[] shape, DataSource data) {
        return put(name, dtype, shape, byteLength(name, dtype, shape), data);
    }

    private SafetensorsWriter put(String name, DType dtype, long[] shape, long length, DataSource source) {
        if (name.equals(SafetensorsHeader.METADATA_KEY)) {
            throw new IllegalArgumentException("'" + SafetensorsHeader.METADATA_KEY + "' is reserved for metadata and cannot name a tensor");
        }
        // Never write a file our own reader refuses.
        String problem = SafetensorsHeader.nameProblem(name);
        if (problem != null) throw new IllegalArgumentException("tensor name " + SafetensorsHeader.quote(name) + " " + problem);
        if (entries.containsKey(name)) throw new IllegalArgumentException("tensor '" + name + "' was already added");
        entries.put(name, new Entry(name, dtype, shape.clone(), length, source));
        return this;
    }

    private static void checkLength(String name, DType dtype, long[] shape, long actual) {
        long expected = byteLength(name, dtype, shape);
        if (actual != expected) {
            throw new IllegalArgumentException("tensor '" + name + "': " + dtype.safetensorsName + " with shape "
                    + Arrays.toString(shape) + " needs " + expected + " bytes, but the data has " + actual);
        }
    }

    private static long byteLength(String name, DType dtype, long[] shape) {
        try {
            long n = 1;
            for (long d : shape) {
                if (d < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension in shape " + Arrays.toString(shape));
                n = Math.multiplyExact(n, d);
            }
            return Math.multiplyExact(n, (long) dtype.byteSize);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " is too large");
        }
    }

    /** The reference orders by its Dtype enum, descending; this is each of our dtypes' place in it. */
    private static int referenceDTypeRank(DType d) {
        return switch (d) {
            case BOOL -> 0;
            case U8 -> 4;
            case I8 -> 5;
            case F8E4M3 -> 7;
            case I16 -> 11;
            case F16 -> 13;
            case BF16 -> 14;
            case I32 -> 15;
            case F32 -> 17;
            case F64 -> 19;
            case I64 -> 20;
        };
    }

    private static final Comparator<Entry> REFERENCE_ORDER = Comparator
            .comparingInt((Entry e) -> -referenceDTypeRank(e.dtype()))
            .thenComparing(Entry::name, (a, b) -> Arrays.compareUnsigned(
                    a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8)));

    private List<Entry> ordered() {
        List<Entry> list = new ArrayList<>(entries.values());
        list.sort(REFERENCE_ORDER);
        return list;
    }

    /** The header JSON including the space padding (without the 8-byte length prefix). */
    byte[] headerBytes() {
        ObjectNode root = Json.object();
        if (!metadata.isEmpty()) root.set(SafetensorsHeader.METADATA_KEY, Json.object(metadata));
        long offset = 0;
        for (Entry e : ordered()) {
            ArrayNode shape = Json.array();
            for (long d : e.shape()) shape.add(d);
            root.set(e.name(), Json.object("dtype", e.dtype().safetensorsName, "shape", shape,
                    "data_offsets", Json.array(offset, offset + e.byteLength())));
            offset += e.byteLength();
        }
        byte[] json = Json.writeUtf8(root);
        int padded = (json.length + 7) & ~7;
        if (padded > SafetensorsFile.MAX_HEADER_BYTES) {
            throw new IllegalStateException("safetensors header would be " + padded + " bytes, over the "
                    + SafetensorsFile.MAX_HEADER_BYTES + "-byte limit readers enforce; write fewer tensors per file or shorter metadata");
        }
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    /** Writes atomically to {@code target}, replacing it only once the new file is complete and on disk. */
    public void write(Path target) throws IOException {
        byte[] header = headerBytes();
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);  // e.g. the model cache on a fresh machine
        Path tmp = dir.resolve("." + target.getFileName() + ".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
                writeAll(ch, prefix);
                writeAll(ch, ByteBuffer.wrap(header));
                for (Entry e : ordered()) writeTensor(ch, e);
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            done = true;
        } finally {
            if (!done) Files.deleteIfExists(tmp);
        }
        syncDirectory(dir);
    }

    /**
     * Streams the file's bytes (length, header, data) exactly as {@link #write} lays them out, to any
     * channel: e.g. a digest, to hash a file without writing it.
     */
    public void writeTo(WritableByteChannel out) throws IOException {
        byte[] header = headerBytes();
        writeAll(out, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length));
        writeAll(out, ByteBuffer.wrap(header));
        for (Entry e : ordered()) {
            CountingChannel counted = new CountingChannel(out);
            e.source().writeTo(counted);
            if (counted.count != e.byteLength()) {
                throw new IOException("tensor '" + e.name() + "': data source wrote " + counted.count + " bytes, but "
                        + e.dtype().safetensorsName + " " + Arrays.toString(e.shape()) + " needs " + e.byteLength());
            }
        }
    }

    private static void writeTensor(FileChannel ch, Entry e) throws IOException {
        long before = ch.position();
        CountingChannel counted = new CountingChannel(ch);
        e.source().writeTo(counted);
        if (counted.count != e.byteLength() || ch.position() - before != e.byteLength()) {
            throw new IOException("tensor '" + e.name() + "': data source wrote " + counted.count + " bytes, but "
                    + e.dtype().safetensorsName + " " + Arrays.toString(e.shape()) + " needs " + e.byteLength());
        }
    }

    /** Makes the rename itself durable; best effort, since not every platform can open a directory. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // The file's own data is already forced; only the directory entry's durability is at stake.
        }
    }

    static void writeAll(WritableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    /** Counts what a DataSource writes, so a short or long write is caught instead of shifting later tensors. */
    private static final class CountingChannel implements WritableByteChannel {
        private final WritableByteChannel out;
        long count;

        CountingChannel(WritableByteChannel out) {
            this.out = out;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = out.write(src);
            count += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return out.isOpen();
        }

        @Override
        public void close() {
            // The file channel belongs to the writer; a data source must not close it.
        }
    }
}
