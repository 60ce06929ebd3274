package org.lorascripts.data;

import org.lorascripts.io.image.RgbaImage;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Turns a decoded image into the VAE's input for its bucket, as kohya's
 * {@code trim_and_resize_if_required} plus {@code IMAGE_TRANSFORMS} do (sd-scripts
 * library/train_util.py): resize to the assignment's covering size, crop the overhang (centred, or
 * at a random offset with random_crop), mirror horizontally with probability 0.5 under flip_aug,
 * and scale 0..255 to [-1, 1] ({@code ToTensor} then {@code Normalize(0.5, 0.5)}).
 *
 * <p>The resize is libtorch's antialiased bicubic ({@code interpolate(..., antialias=True)}), not a
 * Java loop: its antialias kernels are a port of Pillow's resampling (support widened by the scale
 * when shrinking, so downscaling averages like PIL and cv2's INTER_AREA that kohya uses, instead of
 * aliasing), it runs multi-threaded in native code, and it keeps float precision with no 8-bit
 * rounding between passes. kohya uses INTER_AREA to shrink and Lanczos to enlarge; bicubic is
 * between the two in sharpness. Its overshoot is clamped to 0..255, as an 8-bit image would be.
 * The alpha channel is dropped without compositing, like PIL's {@code convert("RGB")} in kohya.
 */
public final class ImageTransform {
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
        try (Scope scope = Scope.open()) {
            Tensor x = rgbBytes(image).permute(2, 0, 1).unsqueeze(0).to(DType.F32).contiguous();   // (1, 3, h, w)
            PixelSize r = p.resized();
            if (r.width() != image.width() || r.height() != image.height()) {
                x = Functional.interpolate(x, r.height(), r.width(), Functional.Interpolation.BICUBIC, false, true)
                        .clamp(0, 255);
            }
            x = x.narrow(2, p.cropTop(), p.bucket().height()).narrow(3, p.cropLeft(), p.bucket().width());
            if (p.flipped()) x = x.flip(3);
            Tensor out = x.squeeze(0).div(127.5).sub(1.0).contiguous();   // (3, H, W)
            return scope.moveToOuter(out);
        }
    }

    /** (h, w, 3) uint8, the image's RGB. */
    private static Tensor rgbBytes(RgbaImage image) {
        int[] argb = image.argb();
        byte[] rgb = new byte[argb.length * 3];
        for (int i = 0; i < argb.length; i++) {
            int c = argb[i];
            rgb[3 * i] = (byte) (c >> 16);
            rgb[3 * i + 1] = (byte) (c >> 8);
            rgb[3 * i + 2] = (byte) c;
        }
        return Torch.ofBytes(rgb, image.height(), image.width(), 3);
    }
}
