package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.DType;

/** A failed write leaves the previous file byte-identical and no temp file behind. */
class SafetensorsAtomicWriteTest {
    @TempDir
    Path dir;

    private Path target;
    private byte[] previous;

    @BeforeEach
    void writePrevious() throws Exception {
        target = dir.resolve("lora.safetensors");
        new SafetensorsWriter().add("old", DType.U8, new long[] {4}, new byte[] {1, 2, 3, 4}).write(target);
        previous = Files.readAllBytes(target);
    }

    private List<String> dirListing() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private void assertUntouched() throws IOException {
        assertArrayEquals(previous, Files.readAllBytes(target));
        assertEquals(List.of("lora.safetensors"), dirListing());
    }

    @Test
    void sourceThatThrowsMidWrite() throws Exception {
        SafetensorsWriter w = new SafetensorsWriter()
                .add("a", DType.F32, new long[] {1024}, new byte[4096])
                .add("b", DType.F32, new long[] {1024}, out -> {
                    out.write(ByteBuffer.wrap(new byte[100]));
                    throw new IOException("simulated disk failure");
                });
        assertEquals("simulated disk failure", assertThrows(IOException.class, () -> w.write(target)).getMessage());
        assertUntouched();
    }

    @Test
    void sourceThatThrowsUnchecked() throws Exception {
        SafetensorsWriter w = new SafetensorsWriter().add("b", DType.U8, new long[] {8}, out -> {
            throw new IllegalStateException("tensor freed");
        });
        assertThrows(IllegalStateException.class, () -> w.write(target));
        assertUntouched();
    }

    @Test
    void sourceThatWritesTooLittleOrTooMuch() throws Exception {
        SafetensorsWriter shortWrite = new SafetensorsWriter().add("b", DType.F32, new long[] {4}, out -> out.write(ByteBuffer.allocate(4)));
        assertEquals("tensor 'b': data source wrote 4 bytes, but F32 [4] needs 16",
                assertThrows(IOException.class, () -> shortWrite.write(target)).getMessage());
        assertUntouched();
        SafetensorsWriter longWrite = new SafetensorsWriter().add("b", DType.U8, new long[] {1}, out -> out.write(ByteBuffer.allocate(2)));
        assertEquals("tensor 'b': data source wrote 2 bytes, but U8 [1] needs 1",
                assertThrows(IOException.class, () -> longWrite.write(target)).getMessage());
        assertUntouched();
    }

    @Test
    void successfulWriteReplacesTheFileAndLeavesNoTemp() throws Exception {
        new SafetensorsWriter().add("new", DType.U8, new long[] {2}, out -> out.write(ByteBuffer.wrap(new byte[] {9, 8}))).write(target);
        assertEquals(List.of("lora.safetensors"), dirListing());
        try (SafetensorsFile f = SafetensorsFile.open(target)) {
            assertEquals(List.of("new"), f.names());
        }
    }

    @Test
    void replacingAFileThatIsStillMappedKeepsTheOldMappingValid() throws Exception {
        try (SafetensorsFile old = SafetensorsFile.open(target)) {
            new SafetensorsWriter().add("new", DType.U8, new long[] {1}, new byte[] {5}).write(target);
            assertArrayEquals(new byte[] {1, 2, 3, 4}, old.data("old").toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
    }
}
