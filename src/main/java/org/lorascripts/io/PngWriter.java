package org.lorascripts.io;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.DataBufferByte;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * PNG bytes (TensorBoard image summaries, sample files) from 8-bit grayscale, RGB or RGBA pixels given
 * as interleaved row-major bytes, the layout a (H, W, C) uint8 tensor copies out as. The encoding is the
 * JDK's ImageIO PNG writer; this class only wraps the bytes as a {@link BufferedImage} without copying them.
 */
public final class PngWriter {
    /** Channel layouts of the pixel bytes. */
    public enum Channels {
        GRAY(1), RGB(3), RGBA(4);

        public final int count;

        Channels(int count) {
            this.count = count;
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
        return encode(image(pixels, width, height, channels));
    }

    /** Encodes an image as PNG bytes; the PNG colour type follows the image's colour model. */
    public static byte[] encode(BufferedImage image) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        // A memory-cached stream: ImageIO.write to a plain OutputStream would cache through a temporary file.
        try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
            if (!ImageIO.write(image, "png", out)) {
                throw new IllegalStateException("ImageIO has no PNG writer for " + image.getColorModel());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding to memory failed", e);
        }
        return bytes.toByteArray();
    }

    /** Encodes and writes atomically, so a viewer polling the folder never sees half a file. */
    public static void write(Path file, byte[] pixels, int width, int height, Channels channels) throws IOException {
        AtomicFileWriter.write(file, encode(pixels, width, height, channels));
    }

    /**
     * A view of interleaved pixel bytes as an image (no copy: later changes to {@code pixels} show in it).
     * Gray is a linear gray colour space and colour is sRGB, as ImageIO reads PNGs back, so the
     * sample values round-trip unchanged; alpha is straight (not premultiplied), as PNG stores it.
     */
    public static BufferedImage image(byte[] pixels, int width, int height, Channels channels) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        long rowBytes = (long) width * channels.count;
        if (pixels.length != rowBytes * height) {
            throw new IllegalArgumentException("expected " + rowBytes * height + " bytes for " + width + "x" + height
                    + " " + channels + ", got " + pixels.length);
        }
        boolean alpha = channels == Channels.RGBA;
        ColorSpace space = ColorSpace.getInstance(channels == Channels.GRAY ? ColorSpace.CS_GRAY : ColorSpace.CS_sRGB);
        ComponentColorModel model = new ComponentColorModel(space, alpha, false,
                alpha ? Transparency.TRANSLUCENT : Transparency.OPAQUE, DataBuffer.TYPE_BYTE);
        int[] bandOffsets = Arrays.copyOf(new int[] {0, 1, 2, 3}, channels.count);
        WritableRaster raster = Raster.createInterleavedRaster(new DataBufferByte(pixels, pixels.length),
                width, height, (int) rowBytes, channels.count, bandOffsets, null);
        return new BufferedImage(model, raster, false, null);
    }
}
