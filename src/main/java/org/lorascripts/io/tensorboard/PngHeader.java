package org.lorascripts.io.tensorboard;

import java.nio.ByteBuffer;

/** Reads the IHDR fields TensorBoard's Summary.Image needs from an encoded PNG. */
final class PngHeader {
    private static final long SIGNATURE = 0x89504E470D0A1A0AL;

    private PngHeader() {}

    /** Returns Summary.Image's colorspace code, after checking the PNG's size matches the one given. */
    static int colorspace(byte[] png, int width, int height) {
        if (png.length < 33) {
            throw new IllegalArgumentException("not a PNG: only " + png.length + " bytes");
        }
        ByteBuffer buf = ByteBuffer.wrap(png);   // PNG is big endian
        if (buf.getLong(0) != SIGNATURE || buf.getInt(12) != 0x49484452 /* "IHDR" */) {
            throw new IllegalArgumentException("not a PNG (bad signature or first chunk is not IHDR)");
        }
        int pngWidth = buf.getInt(16);
        int pngHeight = buf.getInt(20);
        if (pngWidth != width || pngHeight != height) {
            throw new IllegalArgumentException("PNG is " + pngWidth + "x" + pngHeight + " but caller said "
                    + width + "x" + height);
        }
        int colorType = png[25] & 0xFF;
        return switch (colorType) {
            case 0 -> 1;          // grayscale
            case 4 -> 2;          // grayscale + alpha
            case 2, 3 -> 3;       // RGB, palette (decodes to RGB)
            case 6 -> 4;          // RGBA
            default -> throw new IllegalArgumentException("unknown PNG colour type " + colorType);
        };
    }
}
