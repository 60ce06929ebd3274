package org.lorascripts.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Named tensors backed by one safetensors file or a sharded set, so model loaders need not
 * care which. Data segments are read-only views of memory-mapped files: they stay valid until
 * {@link #close()} and must not be used after it.
 */
public interface TensorSource extends AutoCloseable {

    /** Opens {@code *.json} as a sharded index ({@link SafetensorsIndex}), anything else as one file. */
    static TensorSource open(Path path) throws IOException {
        return path.getFileName().toString().endsWith(".json") ? SafetensorsIndex.open(path) : SafetensorsFile.open(path);
    }

    List<String> names();

    boolean contains(String name);

    /** @throws java.util.NoSuchElementException when there is no such tensor */
    TensorInfo info(String name) throws IOException;

    /** Read-only, no copy. @throws java.util.NoSuchElementException when there is no such tensor */
    MemorySegment data(String name) throws IOException;

    Map<String, String> metadata();

    /** Unmaps everything; segments handed out before become invalid. Idempotent. */
    @Override
    void close();
}
