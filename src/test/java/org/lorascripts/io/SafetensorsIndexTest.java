package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.DType;

class SafetensorsIndexTest {
    @TempDir
    Path dir;

    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";

    @BeforeEach
    void writeShards() throws Exception {
        new SafetensorsWriter()
                .add("embed.weight", DType.F32, new long[] {2}, new byte[] {0, 0, -128, 63, 0, 0, 0, 64})
                .add("layer.0.weight", DType.U8, new long[] {3}, new byte[] {1, 2, 3})
                .putMetadata("format", "pt")
                .write(dir.resolve(SHARD1));
        new SafetensorsWriter()
                .add("layer.1.weight", DType.I16, new long[] {1}, new byte[] {7, 0})
                .add("lm_head.weight", DType.BF16, new long[] {1, 1}, new byte[] {(byte) 0x80, 0x3F})
                .write(dir.resolve(SHARD2));
    }

    private Path index(String weightMap) throws Exception {
        Path p = dir.resolve("model.safetensors.index.json");
        Files.writeString(p, "{\"metadata\": {\"total_size\": 15, \"note\": \"x\"}, \"weight_map\": {" + weightMap + "}}");
        return p;
    }

    private Path fullIndex() throws Exception {
        return index("\"embed.weight\": \"" + SHARD1 + "\", \"layer.0.weight\": \"" + SHARD1 + "\", "
                + "\"layer.1.weight\": \"" + SHARD2 + "\", \"lm_head.weight\": \"" + SHARD2 + "\"");
    }

    @Test
    void roundTripOpensShardsLazily() throws Exception {
        try (SafetensorsIndex idx = SafetensorsIndex.open(fullIndex())) {
            assertEquals(List.of("embed.weight", "layer.0.weight", "layer.1.weight", "lm_head.weight"), idx.names());
            assertEquals(List.of(SHARD1, SHARD2), idx.shardFileNames());
            assertEquals(Map.of("total_size", "15", "note", "x"), idx.metadata());
            assertEquals(0, idx.openShardCount());
            assertTrue(idx.contains("lm_head.weight"));

            assertEquals(7, idx.data("layer.1.weight").get(ValueLayout.JAVA_SHORT_UNALIGNED, 0));
            assertEquals(1, idx.openShardCount());
            assertEquals(DType.BF16, idx.info("lm_head.weight").dtype());
            assertEquals(1, idx.openShardCount());

            assertArrayEquals(new byte[] {1, 2, 3}, idx.data("layer.0.weight").toArray(ValueLayout.JAVA_BYTE));
            assertEquals(2, idx.openShardCount());
            assertEquals(SHARD1, idx.shardOf("embed.weight"));
            assertEquals(idx.path() + ": no tensor named 'nope' in the weight_map (4 tensors)",
                    assertThrows(NoSuchElementException.class, () -> idx.info("nope")).getMessage());
        }
    }

    @Test
    void tensorSourceOpensAnIndex() throws Exception {
        try (TensorSource s = TensorSource.open(fullIndex())) {
            assertTrue(s instanceof SafetensorsIndex);
            assertEquals(4, s.names().size());
        }
    }

    @Test
    void missingShardFailsAtOpen() throws Exception {
        Path p = index("\"a\": \"" + SHARD1 + "\", \"b\": \"model-00003-of-00003.safetensors\", \"c\": \"model-00003-of-00003.safetensors\"");
        assertEquals(p + ": shard 'model-00003-of-00003.safetensors' (holding 2 tensors, e.g. 'b') does not exist in " + dir.toAbsolutePath()
                        + "; download it or fix the weight_map",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsIndex.open(p)).getMessage());
    }

    @Test
    void nameMappedToAShardThatLacksIt() throws Exception {
        Path p = index("\"embed.weight\": \"" + SHARD2 + "\"");
        try (SafetensorsIndex idx = SafetensorsIndex.open(p)) {
            assertEquals(p + ": weight_map maps 'embed.weight' to '" + SHARD2
                            + "', but that shard has no such tensor; the index and the shards do not match",
                    assertThrows(SafetensorsFormatException.class, () -> idx.data("embed.weight")).getMessage());
        }
    }

    @Test
    void malformedIndexes() throws Exception {
        Path p = dir.resolve("model.safetensors.index.json");
        Files.writeString(p, "{\"metadata\": {}}");
        assertEquals(p + ": has no \"weight_map\" object; it is not a safetensors index",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsIndex.open(p)).getMessage());
        Files.writeString(p, "{\"weight_map\": {\"a\": 1}}");
        assertEquals(p + ": weight_map value for 'a' must be a shard file name, found integer",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsIndex.open(p)).getMessage());
        Files.writeString(p, "{\"weight_map\": {\"a\": \"../elsewhere.safetensors\"}}");
        assertEquals(p + ": weight_map maps 'a' to '../elsewhere.safetensors', which is not a file name in the index's directory; shards must sit beside the index",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsIndex.open(p)).getMessage());
        Files.writeString(p, "{\"weight_map\": {\"a\": \"x\",}}");
        assertEquals(p + ": not valid JSON: unexpected character ('}' (code 125)): was expecting double-quote to start field name at byte 25",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsIndex.open(p)).getMessage());
    }

    @Test
    void tensorNamesTheReaderWouldRefuse() throws Exception {
        Path p = index("\"\": \"" + SHARD1 + "\"");
        assertEquals(p + ": weight_map tensor name '' is empty; the index is corrupt or was written by a broken tool",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsIndex.open(p)).getMessage());
        index("\"a\\u0000b\": \"" + SHARD1 + "\"");
        assertEquals(p + ": weight_map tensor name 'a\\u0000b' contains control character U+0000 at character 1; the index is corrupt or was written by a broken tool",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsIndex.open(p)).getMessage());
    }

    @Test
    void shardNamesNoFileSystemOrListingCanShow() throws Exception {
        // A NUL used to escape as InvalidPathException, a runtime exception.
        Path p = index("\"a\": \"x\\u0000.safetensors\"");
        assertEquals(p + ": weight_map maps 'a' to 'x\\u0000.safetensors', which is not a file name in the index's directory; shards must sit beside the index",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsIndex.open(p)).getMessage());
        index("\"a\": \"x\\n.safetensors\"");
        assertEquals(p + ": weight_map maps 'a' to 'x\\u000A.safetensors', which is not a file name in the index's directory; shards must sit beside the index",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsIndex.open(p)).getMessage());
    }

    @Test
    void hugeJsonIsRefusedBeforeItIsRead() throws Exception {
        Path p = dir.resolve("model.safetensors.index.json");
        try (var f = new java.io.RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(3L << 30); // sparse: no disk used; reading it whole would not fit a Java array
        }
        assertEquals(p + ": is 3221225472 bytes, over the 100000000-byte limit for a safetensors index; it is not one",
                assertThrows(SafetensorsFormatException.class, () -> SafetensorsIndex.open(p)).getMessage());
    }
}
