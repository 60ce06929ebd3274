package org.lorascripts.data;

import org.lorascripts.io.image.PilBicubicResize;
import org.lorascripts.io.image.RgbaImage;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Turns a decoded image into the VAE's input for its bucket, as kohya's
 * {@code trim_and_resize_if_required} plus {@code IMAGE_TRANSFORMS} do (sd-scripts
 * library/train_util.py): resize to the assignment's covering size, crop the overhang (centred, or
 * at a random offset with random_crop), mirror horizontally with probability 0.5 under flip_aug,
 * and scale 0..255 to [-1, 1] ({@code ToTensor} then {@code Normalize(0.5, 0.5)}).
 *
 * <p>The resize is Pillow's bicubic ({@code Image.resize(size, BICUBIC)}, ported bit for bit in
 * {@link PilBicubicResize}; kohya's {@code resize_interpolation: bicubic}): antialiased (support widened by the
 * scale when shrinking, so downscaling averages like cv2's INTER_AREA that kohya uses by default, instead of
 * aliasing), 8-bit between and after its two passes, computed only over the bucket's window, in plain Java that
 * runs on any thread. kohya uses INTER_AREA to shrink and Lanczos to enlarge; bicubic is between the two in
 * sharpness. libtorch's {@code interpolate(..., antialias=True)} ports the same filter in float: it agrees to 8-bit
 * rounding, but a 3000x2000 photo into a 512x512 bucket took it 454 ms on two cores, this 28 ms (768x512: 15 against
 * 10 ms; medians of 30 runs alternated in one process).
 * The alpha channel is dropped without compositing, like PIL's {@code convert("RGB")} in kohya.
 */
public final class ImageTransform {
    /** The resize filter, named in latent cache keys: a disk cache made with another filter is encoded again. */
    public static final String RESAMPLE = "pil-bicubic";

    private ImageTransform() {}

    /**
     * Where the bucket window lies in the resized image, and whether it is mirrored.
     *
     * @param cropLeft pixels cut from the left of the resized image (before any flip)
     * @param cropTop  pixels cut from the top
     */
    public record Placement(PixelSize resized, PixelSize bucket, int cropLeft, int cropTop, boolean flipped) {
        public Placement {
            if (resized.width() < bucket.width() || resized.height() < bucket.height()) {
                throw new IllegalArgumentException("resized " + resized + " does not cover bucket " + bucket);
            }
            if (cropLeft < 0 || cropTop < 0 || cropLeft + bucket.width() > resized.width()
                    || cropTop + bucket.height() > resized.height()) {
                throw new IllegalArgumentException("crop at (" + cropLeft + ", " + cropTop + ") of " + bucket
                        + " leaves the resized image " + resized);
            }
        }
    }

    /**
     * The placement for one example in one epoch. Centre crop is kohya's {@code trim // 2}; random
     * crop is {@code random.randint(0, trim)} (both ends included) per axis; the flip is a coin with
     * p = 0.5. The streams are the example's own, so the result depends only on (seed, epoch, index).
     */
    public static Placement place(BucketAssignment a, boolean randomCrop, boolean flipAug, long seed, int epoch, int index) {
        int trimW = a.resized().width() - a.bucket().width();
        int trimH = a.resized().height() - a.bucket().height();
        int left = trimW / 2;
        int top = trimH / 2;
        if (randomCrop) {
            ExampleRandom r = ExampleRandom.of(seed, epoch, index, ExampleRandom.Purpose.CROP);
            left = r.nextInt(trimW + 1);
            top = r.nextInt(trimH + 1);
        }
        boolean flip = flipAug && ExampleRandom.of(seed, epoch, index, ExampleRandom.Purpose.FLIP).chance(0.5);
        return new Placement(a.resized(), a.bucket(), left, top, flip);
    }

    /** (3, H, W) f32 in [-1, 1] on the CPU, H x W = the bucket; the caller owns it. */
    public static Tensor apply(RgbaImage image, Placement p) {
        return Torch.of(pixels(image, p), 3, p.bucket().height(), p.bucket().width());
    }

    /**
     * What {@link #apply} holds, as a plain array (channel-major): plain Java, so it may run on any thread (the
     * data prefetch's).
     */
    public static float[] pixels(RgbaImage image, Placement p) {
        PixelSize r = p.resized();
        int bw = p.bucket().width(), bh = p.bucket().height();
        byte[] rgb = PilBicubicResize.window(image.argb(), image.width(), image.height(), r.width(), r.height(),
                p.cropLeft(), p.cropTop(), bw, bh);   // (bh, bw, 3)
        float[] out = new float[3 * bh * bw];
        for (int y = 0; y < bh; y++) {
            for (int x = 0; x < bw; x++) {
                int src = (y * bw + (p.flipped() ? bw - 1 - x : x)) * 3;
                for (int ch = 0; ch < 3; ch++) out[(ch * bh + y) * bw + x] = (rgb[src + ch] & 0xFF) / 127.5f - 1f;
            }
        }
        return out;
    }
}
