package org.lorascripts.data;

import java.util.List;
import org.lorascripts.tensor.Tensor;

/**
 * One training batch of a single bucket.
 *
 * @param pixels   (B, 3, H, W) f32 in [-1, 1] on the CPU, H x W = {@code bucket}; owned by the batch
 * @param captions the processed captions (shuffled, dropped out) in batch order
 * @param indices  the dataset indices of the examples, in batch order
 */
public record ImageBatch(Tensor pixels, List<String> captions, PixelSize bucket, int[] indices) implements AutoCloseable {
    public int size() {
        return indices.length;
    }

    @Override
    public void close() {
        pixels.close();
    }
}
