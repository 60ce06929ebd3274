package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HalfFloatsTest {

    private static int h(float f) {
        return HalfFloats.floatToHalf(f) & 0xFFFF;
    }

    private static int bf(float f) {
        return HalfFloats.floatToBFloat16(f) & 0xFFFF;
    }

    @Test
    void fp16KnownBitPatterns() {
        assertEquals(0x3C00, h(1.0f));
        assertEquals(0xC000, h(-2.0f));
        assertEquals(0x7BFF, h(65504f));
        assertEquals(0x0001, h(0x1p-24f));              // smallest subnormal
        assertEquals(0x0400, h(0x1p-14f));              // smallest normal
        assertEquals(0x8000, h(-0.0f));
        assertEquals(0x7C00, h(Float.POSITIVE_INFINITY));
        assertEquals(0xFC00, h(Float.NEGATIVE_INFINITY));
        assertEquals(0x7C00, h(65520f));                // tie between 65504 and 65536: to even, which overflows
        assertEquals(0x7BFF, h(65519f));
        assertEquals(0x3555, h(1f / 3));
        assertTrue(Float.isNaN(HalfFloats.halfToFloat(HalfFloats.floatToHalf(Float.NaN))));
    }

    @Test
    void fp16RoundsTiesToEven() {
        assertEquals(0x3C00, h(1f + 0x1p-11f));         // halfway between 0x3C00 and 0x3C01: keep even
        assertEquals(0x3C02, h(1f + 3 * 0x1p-11f));     // halfway between 0x3C01 and 0x3C02: go to even
        assertEquals(0x3C01, h(1f + 0x1p-11f + 0x1p-20f)); // just above half: up
        assertEquals(0x0000, h(0x1p-25f));              // half the smallest subnormal: to even zero
        assertEquals(0x0002, h(3 * 0x1p-25f));          // 1.5 subnormal ulps: to even 2
        assertEquals(0x0001, h(0x1p-25f + 0x1p-40f));
    }

    @Test
    void fp16ToFloat() {
        assertEquals(1.0f, HalfFloats.halfToFloat((short) 0x3C00));
        assertEquals(65504f, HalfFloats.halfToFloat((short) 0x7BFF));
        assertEquals(0x1p-24f, HalfFloats.halfToFloat((short) 0x0001));
        assertEquals(0.333251953125f, HalfFloats.halfToFloat((short) 0x3555));
        assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.halfToFloat((short) 0xFC00));
        assertEquals(Float.floatToIntBits(-0.0f), Float.floatToIntBits(HalfFloats.halfToFloat((short) 0x8000)));
        // Every non-NaN half survives a round trip through float.
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = HalfFloats.halfToFloat((short) bits);
            if (!Float.isNaN(f)) assertEquals(bits, h(f), "half 0x" + Integer.toHexString(bits));
        }
    }

    @Test
    void bf16KnownBitPatternsAndTies() {
        assertEquals(0x3F80, bf(1.0f));
        assertEquals(0xC000, bf(-2.0f));
        assertEquals(0x3EAB, bf(1f / 3));
        assertEquals(0x3F80, bf(1f + 0x1p-8f));         // tie: keep even 0x3F80
        assertEquals(0x3F82, bf(1f + 3 * 0x1p-8f));     // tie: up to even 0x3F82
        assertEquals(0x3F81, bf(1f + 0x1p-8f + 0x1p-20f));
        assertEquals(0x7F80, bf(Float.POSITIVE_INFINITY));
        assertEquals(0x7F80, bf(Float.MAX_VALUE));       // rounds up past the largest bf16
        assertEquals(0x8000, bf(-0.0f));
        assertEquals(0x0001, bf(Float.intBitsToFloat(0x00010000))); // subnormals are just truncated bits
        float nan = HalfFloats.bfloat16ToFloat(HalfFloats.floatToBFloat16(Float.intBitsToFloat(0x7F800001)));
        assertTrue(Float.isNaN(nan), "a NaN whose payload sits in the low bits must stay NaN");
        assertEquals(0.333984375f, HalfFloats.bfloat16ToFloat((short) 0x3EAB));
        assertEquals(1.0f, HalfFloats.bfloat16ToFloat((short) 0x3F80));
    }

    @Test
    void arrays() {
        float[] xs = {0f, 1f, -2f, 0.5f};
        assertArrayEquals(xs, HalfFloats.halfToFloats(HalfFloats.floatsToHalf(xs)));
        assertArrayEquals(xs, HalfFloats.bfloat16ToFloats(HalfFloats.floatsToBFloat16(xs)));
    }
}
