package org.lorascripts.io.image;

/**
 * A decoded image as non-premultiplied 0xAARRGGBB ints, row-major, already turned upright (EXIF).
 */
public record RgbaImage(int width, int height, int[] argb) {
    public RgbaImage {
        if (width <= 0 || height <= 0 || argb.length != width * height) {
            throw new IllegalArgumentException("bad image " + width + "x" + height + " with " + argb.length + " pixels");
        }
    }

    public int at(int x, int y) {
        return argb[y * width + x];
    }

    /** A single-colour opaque image, handy for tests and trigger-only runs. */
    public static RgbaImage filled(int width, int height, int rgb) {
        int[] px = new int[width * height];
        java.util.Arrays.fill(px, 0xFF000000 | rgb);
        return new RgbaImage(width, height, px);
    }
}
