package org.lorascripts.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;

/**
 * A sharded checkpoint described by {@code model.safetensors.index.json}
 * ({@code {"metadata": {...}, "weight_map": {"tensor": "model-00001-of-00002.safetensors"}}}).
 * Every shard named in the index must exist when the index is opened (a partial download
 * fails here, not halfway through loading), but a shard is mapped and its header parsed only
 * when one of its tensors is first asked for.
 */
public final class SafetensorsIndex implements TensorSource {
    private final Path path;
    private final Path dir;
    private final Map<String, String> weightMap;   // tensor -> shard file name, index order
    private final Map<String, String> metadata;
    private final Map<String, SafetensorsFile> opened = new LinkedHashMap<>();
    private boolean closed;

    private SafetensorsIndex(Path path, Map<String, String> weightMap, Map<String, String> metadata) {
        this.path = path;
        this.dir = path.toAbsolutePath().getParent();
        this.weightMap = weightMap;
        this.metadata = metadata;
    }

    public static SafetensorsIndex open(Path indexJson) throws IOException {
        // Checked before reading it whole: any *.json is opened as an index, and a multi-gigabyte one
        // would end in an OutOfMemoryError. Real indexes are kilobytes; a header's limit is generous.
        long size = Files.size(indexJson);
        if (size > SafetensorsFile.MAX_HEADER_BYTES) {
            throw new SafetensorsFormatException(indexJson + ": is " + size + " bytes, over the " + SafetensorsFile.MAX_HEADER_BYTES
                    + "-byte limit for a safetensors index; it is not one");
        }
        JsonNode root;
        try {
            root = Json.readLarge(indexJson);  // bounded by the size check above, so a header's limits fit
        } catch (Json.Malformed e) {
            throw new SafetensorsFormatException(e.getMessage(), e);
        }
        if (!(root instanceof ObjectNode obj) || !(obj.get("weight_map") instanceof ObjectNode wm)) {
            throw new SafetensorsFormatException(indexJson + ": has no \"weight_map\" object; it is not a safetensors index");
        }
        Path dir = indexJson.toAbsolutePath().getParent();
        Map<String, String> weightMap = new LinkedHashMap<>();
        Map<String, String> exampleTensor = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : wm.properties()) {
            String tensor = SafetensorsHeader.quote(e.getKey());
            String problem = SafetensorsHeader.nameProblem(e.getKey());
            if (problem != null) {
                throw new SafetensorsFormatException(indexJson + ": weight_map tensor name " + tensor + " " + problem
                        + "; the index is corrupt or was written by a broken tool");
            }
            if (!e.getValue().isTextual()) {
                throw new SafetensorsFormatException(indexJson + ": weight_map value for " + tensor
                        + " must be a shard file name, found " + Json.typeName(e.getValue()));
            }
            String file = e.getValue().textValue();
            if (!isBesideIndex(dir, file)) {
                throw new SafetensorsFormatException(indexJson + ": weight_map maps " + tensor + " to " + SafetensorsHeader.quote(file)
                        + ", which is not a file name in the index's directory; shards must sit beside the index");
            }
            weightMap.put(e.getKey(), file);
            exampleTensor.putIfAbsent(file, e.getKey());
        }
        for (Map.Entry<String, String> e : exampleTensor.entrySet()) {
            if (!Files.isRegularFile(dir.resolve(e.getKey()))) {
                long count = weightMap.values().stream().filter(e.getKey()::equals).count();
                throw new SafetensorsFormatException(indexJson + ": shard " + SafetensorsHeader.quote(e.getKey()) + " (holding " + count
                        + " tensors, e.g. " + SafetensorsHeader.quote(e.getValue()) + ") does not exist in " + dir
                        + "; download it or fix the weight_map");
            }
        }
        return new SafetensorsIndex(indexJson, Collections.unmodifiableMap(weightMap), indexMetadata(obj.get("metadata")));
    }

    /**
     * Whether {@code file} names a file directly in {@code dir}: no path separators or "..", and
     * nothing the file system cannot spell (a NUL makes {@link Path#resolve} throw) or a listing
     * would not show (control characters).
     */
    private static boolean isBesideIndex(Path dir, String file) {
        if (file.isEmpty() || SafetensorsHeader.nameProblem(file) != null) return false;
        try {
            return Objects.equals(dir.resolve(file).normalize().getParent(), dir.normalize());
        } catch (InvalidPathException e) {
            return false;
        }
    }

    /** Strings stay as they are; other values (e.g. {@code total_size}) become their compact JSON text. */
    private static Map<String, String> indexMetadata(JsonNode v) {
        if (!(v instanceof ObjectNode m)) return Map.of();
        Map<String, String> out = new LinkedHashMap<>();
        m.properties().forEach(e -> out.put(e.getKey(), e.getValue().isTextual() ? e.getValue().textValue() : Json.write(e.getValue())));
        return Collections.unmodifiableMap(out);
    }

    public Path path() {
        return path;
    }

    /** Names in weight_map order. */
    @Override
    public List<String> names() {
        return List.copyOf(weightMap.keySet());
    }

    @Override
    public boolean contains(String name) {
        return weightMap.containsKey(name);
    }

    /** The shard file name holding {@code name}. */
    public String shardOf(String name) {
        String shard = weightMap.get(name);
        if (shard == null) {
            throw new NoSuchElementException(path + ": no tensor named '" + name + "' in the weight_map ("
                    + weightMap.size() + " tensors)");
        }
        return shard;
    }

    /** Distinct shard file names in first-use order. */
    public List<String> shardFileNames() {
        return List.copyOf(new LinkedHashSet<>(weightMap.values()));
    }

    /** How many shards have been mapped so far (the others are untouched). */
    public synchronized int openShardCount() {
        return opened.size();
    }

    @Override
    public TensorInfo info(String name) throws IOException {
        return shardHolding(name).info(name);
    }

    @Override
    public MemorySegment data(String name) throws IOException {
        return shardHolding(name).data(name);
    }

    /** The index's "metadata" object, values as strings (see {@link #indexMetadata}). */
    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    private SafetensorsFile shardHolding(String name) throws IOException {
        String shardName = shardOf(name);
        SafetensorsFile shard = shard(shardName);
        if (!shard.contains(name)) {
            throw new SafetensorsFormatException(path + ": weight_map maps '" + name + "' to '" + shardName
                    + "', but that shard has no such tensor; the index and the shards do not match");
        }
        return shard;
    }

    private synchronized SafetensorsFile shard(String shardName) throws IOException {
        if (closed) throw new IllegalStateException(path + " is closed");
        SafetensorsFile f = opened.get(shardName);
        if (f == null) {
            f = SafetensorsFile.open(dir.resolve(shardName));
            opened.put(shardName, f);
        }
        return f;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        List<SafetensorsFile> files = new ArrayList<>(opened.values());
        opened.clear();
        for (SafetensorsFile f : files) f.close();
    }

    @Override
    public String toString() {
        return "SafetensorsIndex[" + path + ", " + weightMap.size() + " tensors]";
    }
}
