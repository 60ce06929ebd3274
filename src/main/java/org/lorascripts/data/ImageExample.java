package org.lorascripts.data;

import java.nio.file.Path;

/**
 * One training image as measured when the dataset was opened; its pixels are decoded again per batch.
 *
 * @param name       path relative to train_data_dir with '/' separators (as metadata.csv spells it)
 * @param size       upright size (after EXIF orientation)
 * @param caption    raw caption, "" when the image has none
 * @param modified   file modification time in milliseconds, part of the latent cache key
 * @param fileBytes  file length, part of the latent cache key
 */
public record ImageExample(String name, Path file, PixelSize size, String caption, BucketAssignment assignment,
                           long modified, long fileBytes) {}
