package org.lorascripts.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * One safetensors file, memory-mapped read-only. The header is read and fully validated on
 * {@link #open}; tensor data is never copied: {@link #data} returns a slice of the mapping, so
 * pages are read from disk only when touched.
 *
 * <p>The mapping lives in a shared {@link Arena}, so segments may be read from any thread
 * (data loaders) until {@link #close()} unmaps the file.
 */
public final class SafetensorsFile implements TensorSource {
    /** The reference implementation's limit (100 MB); checked before allocating the header. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private final Path path;
    private final SafetensorsHeader header;
    private final long dataStart;
    private final Arena arena;
    private final MemorySegment mapping;
    private volatile boolean closed;

    private SafetensorsFile(Path path, SafetensorsHeader header, long dataStart, Arena arena, MemorySegment mapping) {
        this.path = path;
        this.header = header;
        this.dataStart = dataStart;
        this.arena = arena;
        this.mapping = mapping;
    }

    public static SafetensorsFile open(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new SafetensorsFormatException(path + ": file is " + size
                        + " bytes, shorter than the 8-byte header length; the file is truncated or not a safetensors file");
            }
            String file = path.toString();
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(file, ch, prefix, 0, size);
            long n = SafetensorsHeader.headerLength(file, prefix.getLong(0), size);
            ByteBuffer headerBytes = ByteBuffer.allocate((int) n);
            readFully(file, ch, headerBytes, 8, size);
            long dataStart = 8 + n;
            SafetensorsHeader header = SafetensorsHeader.parse(file, headerBytes.array(), dataStart, size - dataStart);
            Arena arena = Arena.ofShared();
            try {
                MemorySegment mapping = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
                return new SafetensorsFile(path, header, dataStart, arena, mapping);
            } catch (Throwable t) {
                arena.close();
                throw t;
            }
        }
    }

    /**
     * Fills {@code buf} from {@code position}. The size was checked first, so running out of bytes
     * means the file shrank after it was opened (another program is writing or truncating it).
     */
    static void readFully(String file, FileChannel ch, ByteBuffer buf, long position, long sizeAtOpen) throws IOException {
        while (buf.hasRemaining()) {
            long at = position + buf.position();
            if (ch.read(buf, at) < 0) {
                throw new SafetensorsFormatException(file + ": file ended at byte " + at + " while reading the header, though it was "
                        + sizeAtOpen + " bytes when opened; another program is writing or truncating it");
            }
        }
    }

    public Path path() {
        return path;
    }

    /** Absolute file offset of the data section (8 + header length). */
    public long dataStart() {
        return dataStart;
    }

    /** Names in data-offset order, which is the header order for files written by the reference writer or ours. */
    @Override
    public List<String> names() {
        return List.copyOf(header.byName().keySet());
    }

    /** All tensors in data-offset order. */
    public List<TensorInfo> tensors() {
        return header.tensors();
    }

    @Override
    public boolean contains(String name) {
        return header.byName().containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo t = header.byName().get(name);
        if (t == null) throw new NoSuchElementException(path + ": no tensor named '" + name + "' (" + describeNames() + ")");
        return t;
    }

    @Override
    public MemorySegment data(String name) {
        TensorInfo t = info(name);
        if (closed) throw new IllegalStateException(path + " is closed; its tensor data is no longer mapped");
        return mapping.asSlice(t.byteOffset(), t.byteLength()).asReadOnly();
    }

    @Override
    public Map<String, String> metadata() {
        return header.metadata();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) return;
            closed = true;
        }
        arena.close();
    }

    private String describeNames() {
        List<String> names = names();
        if (names.isEmpty()) return "the file has no tensors";
        return "the file has " + names.size() + " tensors, e.g. '" + String.join("', '", names.subList(0, Math.min(3, names.size()))) + "'";
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + header.tensors().size() + " tensors]";
    }
}
