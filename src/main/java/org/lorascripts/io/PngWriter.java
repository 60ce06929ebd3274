package org.lorascripts.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Minimal PNG encoder (PNG spec, ISO/IEC 15948) for 8-bit grayscale, RGB and RGBA images given as
 * interleaved row-major bytes. Enough for sample images in TensorBoard and on disk; it does not
 * choose per-row filters (filter type 0 everywhere), which costs some size but keeps it tiny.
 */
public final class PngWriter {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    /** Channel layouts and their PNG colour type codes. */
    public enum Channels {
        GRAY(1, 0), RGB(3, 2), RGBA(4, 6);

        public final int count;
        final int colorType;

        Channels(int count, int colorType) {
            this.count = count;
            this.colorType = colorType;
        }

        public static Channels ofCount(int count) {
            for (Channels c : values()) {
                if (c.count == count) return c;
            }
            throw new IllegalArgumentException("PNG supports 1, 3 or 4 channels, got " + count);
        }
    }

    private PngWriter() {}

    /** Encodes {@code pixels} (height rows of width * channels bytes) as a PNG file image. */
    public static byte[] encode(byte[] pixels, int width, int height, Channels channels) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        long rowBytes = (long) width * channels.count;
        if (pixels.length != rowBytes * height) {
            throw new IllegalArgumentException("expected " + rowBytes * height + " bytes for " + width + "x" + height
                    + " " + channels + ", got " + pixels.length);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(SIGNATURE);

        ByteBuffer ihdr = ByteBuffer.allocate(13);
        ihdr.putInt(width).putInt(height);
        ihdr.put((byte) 8);                    // bit depth
        ihdr.put((byte) channels.colorType);
        ihdr.put((byte) 0);                    // compression: deflate
        ihdr.put((byte) 0);                    // filter method 0
        ihdr.put((byte) 0);                    // no interlace
        writeChunk(out, "IHDR", ihdr.array());
        writeChunk(out, "IDAT", deflateScanlines(pixels, (int) rowBytes, height));
        writeChunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    /** Encodes and writes atomically, so a viewer polling the folder never sees half a file. */
    public static void write(Path file, byte[] pixels, int width, int height, Channels channels) throws IOException {
        AtomicFileWriter.write(file, encode(pixels, width, height, channels));
    }

    private static byte[] deflateScanlines(byte[] pixels, int rowBytes, int height) {
        // Each scanline is prefixed by its filter type byte; Deflater's default output is a zlib
        // stream (header + adler32), which is what IDAT must contain.
        Deflater deflater = new Deflater(6);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[64 * 1024];
        byte[] filterNone = {0};
        try {
            for (int y = 0; y < height; y++) {
                deflater.setInput(filterNone);
                drain(deflater, buf, out);
                deflater.setInput(pixels, y * rowBytes, rowBytes);
                drain(deflater, buf, out);
            }
            deflater.finish();
            while (!deflater.finished()) {
                out.write(buf, 0, deflater.deflate(buf));
            }
        } finally {
            deflater.end();
        }
        return out.toByteArray();
    }

    private static void drain(Deflater deflater, byte[] buf, ByteArrayOutputStream out) {
        while (!deflater.needsInput()) {
            out.write(buf, 0, deflater.deflate(buf));
        }
    }

    private static void writeChunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();   // covers type and data, not the length
        crc.update(typeBytes);
        crc.update(data);
        ByteBuffer header = ByteBuffer.allocate(8).putInt(data.length).put(typeBytes);
        out.writeBytes(header.array());
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
