package org.lorascripts.data;

/**
 * Where one image goes (kohya's {@code select_bucket} result).
 *
 * @param bucket      the training resolution of its batches
 * @param resized     the size the image is resized to before cropping; covers {@code bucket}
 * @param aspectError bucket aspect ratio minus image aspect ratio (kohya's {@code ar_error})
 */
public record BucketAssignment(PixelSize bucket, PixelSize resized, double aspectError) {}
