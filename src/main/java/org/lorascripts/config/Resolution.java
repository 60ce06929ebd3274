package org.lorascripts.config;

/** Training resolution in pixels; YAML {@code 512} is square, {@code "768,512"} is width,height. */
public record Resolution(int width, int height) {
    public static Resolution square(int size) { return new Resolution(size, size); }

    public boolean isSquare() { return width == height; }

    @Override public String toString() { return isSquare() ? Integer.toString(width) : width + "," + height; }
}
