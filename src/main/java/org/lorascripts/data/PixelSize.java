package org.lorascripts.data;

/** A width x height in pixels: an image's size, a resize target or a bucket resolution. */
public record PixelSize(int width, int height) implements Comparable<PixelSize> {
    public double aspectRatio() {
        return (double) width / height;
    }

    public long area() {
        return (long) width * height;
    }

    /** Width first, then height: the order of kohya's sorted bucket list. */
    @Override
    public int compareTo(PixelSize o) {
        return width != o.width ? Integer.compare(width, o.width) : Integer.compare(height, o.height);
    }

    @Override
    public String toString() {
        return width + "x" + height;
    }
}
