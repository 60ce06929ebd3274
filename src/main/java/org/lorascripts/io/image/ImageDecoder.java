package org.lorascripts.io.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes jpg/png/webp/bmp files into upright {@link RgbaImage}s. WebP comes from the TwelveMonkeys
 * ImageIO plugin; a JPEG's EXIF orientation is applied. A file that cannot be decoded raises
 * {@link UnreadableImageException} with a one-line reason, so a run can skip it and count it.
 */
public final class ImageDecoder {
    /** File extensions of the formats this decoder reads (lower case, compared case-insensitively). */
    public static final java.util.Set<String> EXTENSIONS = java.util.Set.of("jpg", "jpeg", "png", "webp", "bmp");

    /** The lower-case extension of a file name without the dot ("" when none). */
    public static String extension(String name) {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(java.util.Locale.ROOT);
    }

    private ImageDecoder() {}

    /** Thrown for corrupt, truncated or unsupported image files. */
    public static final class UnreadableImageException extends Exception {
        public UnreadableImageException(String message) {
            super(message);
        }
    }

    public static RgbaImage decode(Path file) throws UnreadableImageException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UnreadableImageException("cannot read " + file + ": " + e.getMessage());
        }
        BufferedImage image = read(file, bytes);
        RgbaImage rgba = toRgba(image);
        String ext = extension(file.getFileName().toString());
        boolean jpeg = bytes.length > 2 && (bytes[0] & 0xFF) == 0xFF && (bytes[1] & 0xFF) == 0xD8;
        return jpeg || ext.equals("jpg") || ext.equals("jpeg") ? ExifOrientation.apply(rgba, ExifOrientation.read(bytes)) : rgba;
    }

    private static BufferedImage read(Path file, byte[] bytes) throws UnreadableImageException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                String ext = extension(file.getFileName().toString());
                throw new UnreadableImageException(file + ": not a readable " + (ext.isEmpty() ? "image" : ext)
                        + " file (unknown format or corrupt header)");
            }
            ImageReader reader = readers.next();
            List<String> warnings = new ArrayList<>();
            try {
                reader.setInput(in, true, true);
                reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
                BufferedImage image = reader.read(0);
                // The JPEG reader does not fail on a file cut short: it warns ("premature end of data
                // segment") and fills the missing rows with gray, which would train silently. A file that
                // only lacks its end marker warns "Missing EOI" but has every pixel, so it stays readable.
                for (String w : warnings) {
                    if (w != null && w.toLowerCase(Locale.ROOT).contains("premature end")) {
                        throw new UnreadableImageException(file + ": corrupt or truncated image (" + w + ")");
                    }
                }
                return image;
            } finally {
                reader.dispose();
            }
        } catch (UnreadableImageException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // Decoders signal truncated data with IIOException but also with IndexOutOfBounds and friends.
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new UnreadableImageException(file + ": corrupt or truncated image (" + why + ")");
        }
    }

    /**
     * 8-bit gray images are copied sample by sample: BufferedImage.getRGB treats their gray as linear
     * and brightens it, whereas Pillow (which the tagger reference uses) just repeats the value.
     */
    static RgbaImage toRgba(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[] argb = new int[w * h];
        Raster raster = image.getRaster();
        boolean gray = image.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && raster.getSampleModel().getSampleSize(0) == 8 && raster.getNumBands() <= 2;
        if (gray) {
            boolean alpha = raster.getNumBands() == 2;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int v = raster.getSample(x, y, 0);
                    int a = alpha ? raster.getSample(x, y, 1) : 255;
                    argb[y * w + x] = (a << 24) | (v << 16) | (v << 8) | v;
                }
            }
        } else {
            image.getRGB(0, 0, w, h, argb, 0, w);
        }
        return new RgbaImage(w, h, argb);
    }
}
