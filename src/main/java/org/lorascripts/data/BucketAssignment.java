package org.lorascripts.data;

/**
 * Where one image goes (kohya's {@code select_bucket} result).
 *
 * @param bucket      the training resolution of its batches
 * @param resized     the size the image is resized to before cropping; covers {@code bucket}
 * @param aspectError bucket aspect ratio minus image aspect ratio (kohya's {@code ar_error})
 */
public record BucketAssignment(PixelSize bucket, PixelSize resized, double aspectError) {
    /** The share of the resized image that the crop to the bucket keeps (1: nothing is cut away). */
    public double keptShare() {
        return resized.area() == 0 ? 0 : (double) bucket.area() / resized.area();
    }

    /** How many times {@code image} is enlarged to {@link #resized} (below 1: it is shrunk). */
    public double upscale(PixelSize image) {
        return Math.max((double) resized.width() / image.width(), (double) resized.height() / image.height());
    }
}
