package org.lorascripts.io.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link GgufWriter} against the Python gguf package: src/test/resources/gguf/reference_adapter.gguf was written by
 * gguf 0.19's GGUFWriter ({@code /tmp/ptenv/bin/python3 tools/gguf_reference.py write src/test/resources/gguf/reference_adapter.gguf})
 * from the same metadata and tensors (f32, f16, bf16, sizes that need padding); ours must equal it byte for byte.
 * {@link GgufHeader} reads it back, and refuses damaged headers with a message instead of allocating what they claim.
 */
class GgufWriterTest {
    @TempDir Path dir;

    static final Path FIXTURE = Path.of("src/test/resources/gguf/reference_adapter.gguf");

    static byte[] f32(double[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) b.putFloat((float) x);
        return b.array();
    }

    static byte[] f16(double[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) b.putShort(Float.floatToFloat16((float) x));
        return b.array();
    }

    /** The values are exact in bfloat16, so the upper half of the float's bits is the value. */
    static byte[] bf16(double[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) b.putShort((short) (Float.floatToRawIntBits((float) x) >>> 16));
        return b.array();
    }

    static double[] values(int n, java.util.function.IntToDoubleFunction f) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = f.applyAsDouble(i);
        return v;
    }

    static GgufWriter reference() {
        return new GgufWriter()
                .putString("general.architecture", "llama")
                .putString("general.type", "adapter")
                .putString("adapter.type", "lora")
                .putFloat32("adapter.lora.alpha", 16f)
                .putString("general.name", "tiny-lora \u00fc")
                .addTensor("blk.0.attn_q.weight.lora_a", GgufTypes.TensorType.F32, new long[] {2, 8}, f32(values(16, i -> i * 0.25 - 2)))
                .addTensor("blk.0.attn_q.weight.lora_b", GgufTypes.TensorType.F16, new long[] {8, 2}, f16(values(16, i -> (i - 8) / 16.0)))
                .addTensor("blk.0.ffn_down.weight.lora_a", GgufTypes.TensorType.BF16, new long[] {2, 12}, bf16(values(24, i -> (i % 5) - 2.5)));
    }

    @Test
    void sameBytesAsPythonGgufWriter() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        reference().writeTo(out);
        assertArrayEquals(Files.readAllBytes(FIXTURE), out.toByteArray());
        Path file = dir.resolve("x.gguf");
        reference().write(file);
        assertArrayEquals(Files.readAllBytes(FIXTURE), Files.readAllBytes(file));
    }

    @Test
    void headerReadsTheFixture() throws IOException {
        GgufHeader h = GgufHeader.read(FIXTURE);
        assertEquals(3, h.version());
        assertEquals(List.of("general.architecture", "general.type", "adapter.type", "adapter.lora.alpha", "general.name"),
                List.copyOf(h.metadata().keySet()));
        assertEquals("adapter", h.metadata().get("general.type"));
        assertEquals(16.0, h.metadata().get("adapter.lora.alpha"));
        assertEquals("tiny-lora \u00fc", h.metadata().get("general.name"));
        assertEquals(3, h.tensors().size());
        GgufHeader.Info b = h.tensors().get(1);
        assertEquals("blk.0.attn_q.weight.lora_b", b.name());
        assertEquals("f16", b.typeName());
        assertArrayEquals(new long[] {8, 2}, b.shape());
        // offsets as GGUFReader reports them (tools/gguf_reference.py read): data at 448, 512, 544
        assertEquals(448, h.dataStart());
        assertEquals(64, b.offset());
        assertEquals(96, h.tensors().get(2).offset());
        assertArrayEquals(f16(values(16, i -> (i - 8) / 16.0)), GgufHeader.readData(FIXTURE, h, b));
    }

    @Test
    void damagedHeadersAreRefused() throws IOException {
        byte[] good = Files.readAllBytes(FIXTURE);
        assertRefused(Arrays.copyOf(good, 300), "does not fit the file");
        assertRefused(Arrays.copyOf(good, 560), "past the end");
        byte[] kvCount = good.clone();
        ByteBuffer.wrap(kvCount).order(ByteOrder.LITTLE_ENDIAN).putLong(16, Long.MAX_VALUE / 2);
        assertRefused(kvCount, "metadata count");
        byte[] keyLength = good.clone();
        ByteBuffer.wrap(keyLength).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 1L << 40);
        assertRefused(keyLength, "does not fit the file");
        byte[] magic = good.clone();
        magic[0] = 'X';
        assertRefused(magic, "not a GGUF file");
    }

    private void assertRefused(byte[] bytes, String message) throws IOException {
        Path f = dir.resolve("bad.gguf");
        Files.write(f, bytes);
        IOException e = assertThrows(IOException.class, () -> GgufHeader.read(f));
        assertTrue(e.getMessage().contains(message) && e.getMessage().startsWith(f.toString()), e.getMessage());
    }
}
