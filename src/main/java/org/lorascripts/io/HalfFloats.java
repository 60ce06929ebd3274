package org.lorascripts.io;

/**
 * Conversions between float and the 16-bit float formats stored in checkpoints, all with
 * round-to-nearest-even as PyTorch does. Values are raw bit patterns in a {@code short}.
 *
 * <p>fp16 uses the JDK's {@link Float#floatToFloat16} / {@link Float#float16ToFloat} (IEEE 754
 * binary16 with RNE, subnormals, infinities; intrinsified on x86 and ARM). bf16 is the upper half
 * of a float, rounded the way c10's {@code round_to_nearest_even} does.
 */
public final class HalfFloats {
    private HalfFloats() {}

    public static short floatToHalf(float f) {
        return Float.floatToFloat16(f);
    }

    public static float halfToFloat(short h) {
        return Float.float16ToFloat(h);
    }

    public static short floatToBFloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            // Truncating a NaN could clear every mantissa bit left and make it infinity; keep it a quiet NaN.
            return (short) ((bits >>> 16) | 0x0040);
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    public static float bfloat16ToFloat(short b) {
        return Float.intBitsToFloat((b & 0xFFFF) << 16);
    }

    public static short[] floatsToHalf(float[] src) {
        short[] out = new short[src.length];
        for (int i = 0; i < src.length; i++) out[i] = floatToHalf(src[i]);
        return out;
    }

    public static float[] halfToFloats(short[] src) {
        float[] out = new float[src.length];
        for (int i = 0; i < src.length; i++) out[i] = halfToFloat(src[i]);
        return out;
    }

    public static short[] floatsToBFloat16(float[] src) {
        short[] out = new short[src.length];
        for (int i = 0; i < src.length; i++) out[i] = floatToBFloat16(src[i]);
        return out;
    }

    public static float[] bfloat16ToFloats(short[] src) {
        float[] out = new float[src.length];
        for (int i = 0; i < src.length; i++) out[i] = bfloat16ToFloat(src[i]);
        return out;
    }
}
