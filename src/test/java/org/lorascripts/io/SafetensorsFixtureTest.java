package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.DType;

/**
 * Reads fixtures/reference.safetensors (made by tools/fixtures/make_safetensors_fixture_numpy.py,
 * checkable against the real library with tools/fixtures/make_safetensors_fixture.py) and checks
 * every value, then checks that our writer reproduces the file byte for byte.
 */
class SafetensorsFixtureTest {
    @TempDir
    Path dir;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static Path fixture() throws Exception {
        return Path.of(SafetensorsFixtureTest.class.getResource("/fixtures/reference.safetensors").toURI());
    }

    private static void assertTensor(SafetensorsFile f, String name, DType dtype, long... shape) {
        TensorInfo info = f.info(name);
        assertEquals(dtype, info.dtype(), name);
        assertArrayEquals(shape, info.shape(), name);
    }

    @Test
    void everyValueIsAsDocumented() throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(fixture())) {
            assertEquals(Map.of("format", "pt", "note", "made by make_safetensors_fixture.py"), f.metadata());
            assertEquals(List.of("i64", "f64", "f32", "scalar_f32", "i32", "bf16", "f16", "f16_special", "i16", "i8", "u8", "bool"),
                    f.names());

            assertTensor(f, "f32", DType.F32, 2, 3);
            assertArrayEquals(new float[] {-1f, -0.5f, 0f, 0.5f, 1f, 1.5f}, f.data("f32").toArray(F32));
            assertTensor(f, "scalar_f32", DType.F32);
            assertArrayEquals(new float[] {3.5f}, f.data("scalar_f32").toArray(F32));

            assertTensor(f, "f16", DType.F16, 3, 2);
            short[] f16 = f.data("f16").toArray(I16);
            assertArrayEquals(new short[] {0x0000, 0x3555, 0x3955, 0x3C00, 0x3D55, 0x3EAB}, f16);
            for (int i = 0; i < 6; i++) {
                assertEquals(HalfFloats.floatToHalf(i / 3f), f16[i], "f16[" + i + "] is float32 i/3 rounded to half");
            }
            assertArrayEquals(new float[] {0f, 0.333251953125f, 0.66650390625f, 1f, 1.3330078125f, 1.6669921875f},
                    HalfFloats.halfToFloats(f16));
            assertTensor(f, "f16_special", DType.F16, 4);
            assertArrayEquals(new short[] {0x7BFF, 0x0001, (short) 0x8000, 0x7C00}, f.data("f16_special").toArray(I16));

            assertTensor(f, "bf16", DType.BF16, 6);
            short[] bf16 = f.data("bf16").toArray(I16);
            for (int i = 0; i < 6; i++) {
                assertEquals(HalfFloats.floatToBFloat16(i / 3f), bf16[i], "bf16[" + i + "] is float32 i/3 rounded to bf16");
            }
            assertArrayEquals(new float[] {0f, 0.333984375f, 0.66796875f, 1f, 1.3359375f, 1.6640625f}, HalfFloats.bfloat16ToFloats(bf16));

            assertTensor(f, "f64", DType.F64, 5);
            assertArrayEquals(new double[] {0.0, 1 / 7.0, 2 / 7.0, 3 / 7.0, 4 / 7.0}, f.data("f64").toArray(F64));
            assertTensor(f, "i64", DType.I64, 2, 3);
            assertArrayEquals(new long[] {-3_000_000_000_000L, -2_000_000_000_000L, -1_000_000_000_000L, 0L,
                    1_000_000_000_000L, 2_000_000_000_000L}, f.data("i64").toArray(I64));
            assertTensor(f, "i32", DType.I32, 2, 2, 2);
            assertArrayEquals(new int[] {-4, -3, -2, -1, 0, 1, 2, 3}, f.data("i32").toArray(I32));
            assertTensor(f, "i16", DType.I16, 6);
            assertArrayEquals(new short[] {-3000, -2000, -1000, 0, 1000, 2000}, f.data("i16").toArray(I16));
            assertTensor(f, "i8", DType.I8, 6);
            assertArrayEquals(new byte[] {-128, -77, -26, 25, 76, 127}, f.data("i8").toArray(ValueLayout.JAVA_BYTE));
            assertTensor(f, "u8", DType.U8, 6);
            assertArrayEquals(new byte[] {(byte) 250, (byte) 251, (byte) 252, (byte) 253, (byte) 254, (byte) 255},
                    f.data("u8").toArray(ValueLayout.JAVA_BYTE));
            assertTensor(f, "bool", DType.BOOL, 5);
            assertArrayEquals(new byte[] {1, 0, 1, 0, 1}, f.data("bool").toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void ourWriterReproducesTheFixtureByteForByte() throws Exception {
        Path copy = dir.resolve("copy.safetensors");
        try (SafetensorsFile f = SafetensorsFile.open(fixture())) {
            SafetensorsWriter w = new SafetensorsWriter().putMetadata(f.metadata());
            for (String name : f.names().reversed()) {
                TensorInfo info = f.info(name);
                MemorySegment data = f.data(name);
                w.add(name, info.dtype(), info.shape(), data);
            }
            w.write(copy);
        }
        assertArrayEquals(Files.readAllBytes(fixture()), Files.readAllBytes(copy));
    }
}
