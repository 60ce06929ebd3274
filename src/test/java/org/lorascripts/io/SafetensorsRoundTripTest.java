package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.DType;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    /** Distinct bytes per tensor so a mix-up of offsets cannot go unnoticed. */
    private static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (seed * 31 + i * 7);
        return b;
    }

    private static SafetensorsWriter allDTypes(boolean reversed) {
        SafetensorsWriter w = new SafetensorsWriter();
        List<DType> order = Arrays.asList(DType.values());
        if (reversed) order = order.reversed();
        for (DType d : order) {
            String name = "t." + d.safetensorsName.toLowerCase();
            w.add(name, d, new long[] {2, 3}, pattern(6 * d.byteSize, d.ordinal()));
        }
        w.add("scalar", DType.F32, new long[] {}, pattern(4, 99));
        w.add("empty", DType.F16, new long[] {0, 5}, new byte[0]);
        if (reversed) w.putMetadata("b", "2").putMetadata("a", "é \"quoted\"");
        else w.putMetadata(Map.of("a", "é \"quoted\"", "b", "2"));
        return w;
    }

    @Test
    void roundTripsEveryDTypeWithMetadata() throws Exception {
        Path file = dir.resolve("all.safetensors");
        allDTypes(false).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(Map.of("a", "é \"quoted\"", "b", "2"), f.metadata());
            // Reference order: dtype alignment descending, then name.
            assertEquals(List.of("t.i64", "t.f64", "scalar", "t.f32", "t.i32", "t.bf16", "empty", "t.f16",
                    "t.i16", "t.f8_e4m3", "t.i8", "t.u8", "t.bool"), f.names());
            for (DType d : DType.values()) {
                String name = "t." + d.safetensorsName.toLowerCase();
                TensorInfo info = f.info(name);
                assertEquals(d, info.dtype());
                assertArrayEquals(new long[] {2, 3}, info.shape());
                assertEquals(6L * d.byteSize, info.byteLength());
                assertEquals(0, info.byteOffset() % d.byteSize, "aligned to its element size");
                MemorySegment seg = f.data(name);
                assertTrue(seg.isReadOnly());
                assertArrayEquals(pattern(6 * d.byteSize, d.ordinal()), seg.toArray(ValueLayout.JAVA_BYTE));
            }
            assertEquals(0, f.info("scalar").rank());
            assertEquals(1, f.info("scalar").numel());
            assertArrayEquals(pattern(4, 99), f.data("scalar").toArray(ValueLayout.JAVA_BYTE));
            assertEquals(0, f.data("empty").byteSize());
            assertEquals(0, (f.dataStart() - 8) % 8, "header padded to a multiple of 8");
        }
    }

    @Test
    void sameContentGivesIdenticalBytesWhateverTheInsertionOrder() throws Exception {
        Path a = dir.resolve("a.safetensors");
        Path b = dir.resolve("b.safetensors");
        allDTypes(false).write(a);
        allDTypes(true).write(b);
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
        allDTypes(false).write(a); // overwrite in place
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b));
    }

    /** Byte vectors from the reference implementation's own tests (safetensors/src/tensor.rs). */
    @Test
    void matchesReferenceTestVectors() throws Exception {
        Path file = dir.resolve("ref.safetensors");
        new SafetensorsWriter().write(file);
        assertArrayEquals(new byte[] {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', 32, 32, 32, 32, 32, 32}, Files.readAllBytes(file));

        new SafetensorsWriter().putMetadata("framework", "pt").write(file);
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(40, bytes[0]);
        assertEquals("{\"__metadata__\":{\"framework\":\"pt\"}}     ", new String(bytes, 8, 40, StandardCharsets.UTF_8));

        float[] values = {0, 1, 2, 3, 4, 5};
        new SafetensorsWriter().add("attn0", DType.F32, new long[] {1, 1, 2, 3}, MemorySegment.ofArray(values)).write(file);
        bytes = Files.readAllBytes(file);
        assertEquals(72, bytes[0]);
        assertEquals("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}       ",
                new String(bytes, 8, 72, StandardCharsets.UTF_8));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(values, f.data("attn0").toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN)));
        }
    }

    @Test
    void unknownNamesAndUseAfterClose() throws Exception {
        Path file = dir.resolve("x.safetensors");
        new SafetensorsWriter().add("w", DType.U8, new long[] {3}, new byte[] {1, 2, 3}).write(file);
        SafetensorsFile f = SafetensorsFile.open(file);
        assertEquals(file + ": no tensor named 'v' (the file has 1 tensors, e.g. 'w')",
                assertThrows(NoSuchElementException.class, () -> f.info("v")).getMessage());
        MemorySegment seg = f.data("w");
        f.close();
        f.close(); // idempotent
        assertEquals(file + " is closed; its tensor data is no longer mapped",
                assertThrows(IllegalStateException.class, () -> f.data("w")).getMessage());
        assertThrows(IllegalStateException.class, () -> seg.get(ValueLayout.JAVA_BYTE, 0));
    }

    @Test
    void writerRejectsInconsistentEntries() {
        SafetensorsWriter w = new SafetensorsWriter().add("a", DType.F32, new long[] {2}, new byte[8]);
        assertEquals("tensor 'b': F32 with shape [2, 3] needs 24 bytes, but the data has 20",
                assertThrows(IllegalArgumentException.class, () -> w.add("b", DType.F32, new long[] {2, 3}, new byte[20])).getMessage());
        assertEquals("tensor 'a' was already added",
                assertThrows(IllegalArgumentException.class, () -> w.add("a", DType.U8, new long[] {1}, new byte[1])).getMessage());
        assertEquals("'__metadata__' is reserved for metadata and cannot name a tensor",
                assertThrows(IllegalArgumentException.class, () -> w.add("__metadata__", DType.U8, new long[] {1}, new byte[1])).getMessage());
        assertEquals("tensor 'n': negative dimension in shape [2, -1]",
                assertThrows(IllegalArgumentException.class, () -> w.add("n", DType.U8, new long[] {2, -1}, new byte[0])).getMessage());
        assertEquals("tensor 'big': shape [4294967296, 4294967296] is too large",
                assertThrows(IllegalArgumentException.class, () -> w.add("big", DType.U8, new long[] {1L << 32, 1L << 32}, out -> {})).getMessage());
        assertEquals("tensor name '' is empty",
                assertThrows(IllegalArgumentException.class, () -> w.add("", DType.U8, new long[] {1}, new byte[1])).getMessage());
        assertEquals("tensor name 'a\\u000Ab' contains control character U+000A at character 1",
                assertThrows(IllegalArgumentException.class, () -> w.add("a\nb", DType.U8, new long[] {1}, new byte[1])).getMessage());
    }

    @Test
    void tensorSourceOpensAFile() throws Exception {
        Path file = dir.resolve("s.safetensors");
        new SafetensorsWriter().add("w", DType.I8, new long[] {1}, new byte[] {-5}).write(file);
        try (TensorSource s = TensorSource.open(file)) {
            assertTrue(s instanceof SafetensorsFile);
            assertEquals(-5, s.data("w").get(ValueLayout.JAVA_BYTE, 0));
        }
    }

    @org.junit.jupiter.api.Test
    void writeCreatesMissingFolders(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path f = dir.resolve("a/b/c.safetensors");
        new SafetensorsWriter().add("x", org.lorascripts.tensor.DType.F32, new long[] {1}, new byte[4]).write(f);
        org.junit.jupiter.api.Assertions.assertTrue(java.nio.file.Files.isRegularFile(f));
    }
}
