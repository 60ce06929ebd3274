package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.lorascripts.io.image.RgbaImage;
import org.lorascripts.tensor.Tensor;

class ImageTransformTest {
    /** 6x4 image; pixel (x, y) has R = 10x + y, G = 100 + y, B = 200 + x, alpha 0 (must be ignored). */
    private static RgbaImage ramp() {
        int w = 6, h = 4;
        int[] px = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) px[y * w + x] = ((10 * x + y) << 16) | ((100 + y) << 8) | (200 + x);
        }
        return new RgbaImage(w, h, px);
    }

    private static float norm(int v) {
        return (float) (v / 127.5 - 1.0);
    }

    @Test
    void centreCropAndFlipPickTheRightPixels() {
        RgbaImage img = ramp();
        // No resize (resized = image size); a 4x4 bucket: trim 2 -> kohya's centre offset 2 // 2 = 1.
        BucketAssignment a = new BucketAssignment(new PixelSize(4, 4), new PixelSize(6, 4), 0);
        ImageTransform.Placement p = ImageTransform.place(a, false, false, 0, 0, 0);
        assertEquals(1, p.cropLeft());
        assertEquals(0, p.cropTop());
        try (Tensor t = ImageTransform.apply(img, p)) {
            assertArrayEquals(new long[] {3, 4, 4}, t.shape());
            float[] v = t.toFloatArray();   // (3, 4, 4) row-major
            for (int y = 0; y < 4; y++) {
                for (int x = 0; x < 4; x++) {
                    int sx = x + 1;
                    assertEquals(norm(10 * sx + y), v[(0 * 4 + y) * 4 + x], 1e-6, "R at " + x + "," + y);
                    assertEquals(norm(100 + y), v[(1 * 4 + y) * 4 + x], 1e-6);
                    assertEquals(norm(200 + sx), v[(2 * 4 + y) * 4 + x], 1e-6);
                }
            }
        }
        ImageTransform.Placement flipped = new ImageTransform.Placement(p.resized(), p.bucket(), 1, 0, true);
        try (Tensor t = ImageTransform.apply(img, flipped)) {
            float[] v = t.toFloatArray();
            for (int y = 0; y < 4; y++) {
                for (int x = 0; x < 4; x++) {
                    int sx = 4 - x;   // window columns 1..4, mirrored
                    assertEquals(norm(10 * sx + y), v[y * 4 + x], 1e-6, "flipped R at " + x + "," + y);
                    assertEquals(norm(200 + sx), v[(2 * 4 + y) * 4 + x], 1e-6);
                }
            }
        }
    }

    @Test
    void extremesMapToMinusOneAndOne() {
        int[] px = {0xFF000000, 0xFFFFFFFF};
        try (Tensor t = ImageTransform.apply(new RgbaImage(2, 1, px),
                new ImageTransform.Placement(new PixelSize(2, 1), new PixelSize(2, 1), 0, 0, false))) {
            assertArrayEquals(new float[] {-1, 1, -1, 1, -1, 1}, t.toFloatArray(), 1e-6f);
        }
    }

    @Test
    void downscaleIsAntialiased() {
        // A one-pixel checkerboard shrunk 3x: an antialiased filter (support widened 3x) averages it to
        // mid grey (within 2%); plain bicubic at scale 3 samples single source pixels, i.e. black or white.
        int w = 63, h = 48;
        int[] px = new int[w * h];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) px[y * w + x] = ((x + y) % 2 == 0) ? 0xFFFFFFFF : 0xFF000000;
        ImageTransform.Placement p = new ImageTransform.Placement(new PixelSize(21, 16), new PixelSize(21, 16), 0, 0, false);
        try (Tensor t = ImageTransform.apply(new RgbaImage(w, h, px), p)) {
            assertArrayEquals(new long[] {3, 16, 21}, t.shape());
            float[] v = t.toFloatArray();
            for (int y = 2; y < 14; y++) {
                for (int x = 2; x < 19; x++) assertEquals(0.0, v[y * 21 + x], 0.05, "at " + x + "," + y);
            }
        }
    }

    /** libtorch's antialiased bicubic is a float port of the same Pillow filter: they agree to 8-bit rounding. */
    @Test
    void agreesWithLibtorchsAntialiasedBicubic() {
        int w = 90, h = 70;
        java.util.Random r = new java.util.Random(4);
        int[] px = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = (int) (128 + 90 * Math.sin(x / 5.0) * Math.cos(y / 7.0)) + r.nextInt(30) - 15;
                v = Math.max(0, Math.min(255, v));
                px[y * w + x] = 0xFF000000 | v << 16 | (255 - v) << 8 | (v / 3);
            }
        }
        RgbaImage img = new RgbaImage(w, h, px);
        for (PixelSize resized : new PixelSize[] {new PixelSize(37, 29), new PixelSize(131, 102)}) {
            ImageTransform.Placement p = new ImageTransform.Placement(resized, new PixelSize(24, 16), 5, 3, true);
            try (org.lorascripts.tensor.Scope s = org.lorascripts.tensor.Scope.open(); Tensor t = ImageTransform.apply(img, p)) {
                byte[] rgb = new byte[w * h * 3];
                for (int i = 0; i < px.length; i++) {
                    rgb[3 * i] = (byte) (px[i] >> 16);
                    rgb[3 * i + 1] = (byte) (px[i] >> 8);
                    rgb[3 * i + 2] = (byte) px[i];
                }
                Tensor x = org.lorascripts.tensor.Torch.ofBytes(rgb, h, w, 3).permute(2, 0, 1).unsqueeze(0)
                        .to(org.lorascripts.tensor.DType.F32).contiguous();
                x = org.lorascripts.tensor.Functional.interpolate(x, resized.height(), resized.width(),
                        org.lorascripts.tensor.Functional.Interpolation.BICUBIC, false, true).clamp(0, 255);
                x = x.narrow(2, 3, 16).narrow(3, 5, 24).flip(3).squeeze(0).div(127.5).sub(1.0).contiguous();
                float[] want = x.toFloatArray(), got = t.toFloatArray();
                assertArrayEquals(new long[] {3, 16, 24}, t.shape());
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], got[i], 1.5 / 127.5, "resized to " + resized + ", value " + i);
                }
            }
        }
    }

    @Test
    void resizeKeepsAUniformColourAndStaysInRange() {
        RgbaImage flat = RgbaImage.filled(50, 30, 0x336699);
        ImageTransform.Placement up = new ImageTransform.Placement(new PixelSize(107, 64), new PixelSize(64, 64), 21, 0, false);
        try (Tensor t = ImageTransform.apply(flat, up)) {
            float[] v = t.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                int c = i / (64 * 64);
                assertEquals(norm(new int[] {0x33, 0x66, 0x99}[c]), v[i], 1e-4, "at " + i);
            }
        }
        // Bicubic overshoots at hard edges; values must still be clamped to [-1, 1].
        int[] px = new int[40 * 40];
        for (int i = 0; i < px.length; i++) px[i] = (i % 40) < 20 ? 0xFF000000 : 0xFFFFFFFF;
        try (Tensor t = ImageTransform.apply(new RgbaImage(40, 40, px),
                new ImageTransform.Placement(new PixelSize(97, 97), new PixelSize(97, 97), 0, 0, false))) {
            for (float f : t.toFloatArray()) assertTrue(f >= -1 && f <= 1, "out of range: " + f);
        }
    }

    @Test
    void randomCropAndFlipAreDeterministicPerExampleAndEpochAndCoverTheRange() {
        BucketAssignment a = new BucketAssignment(new PixelSize(64, 64), new PixelSize(70, 67), 0);
        Set<Integer> lefts = new HashSet<>();
        Set<Integer> tops = new HashSet<>();
        int flips = 0;
        int n = 2000;
        for (int i = 0; i < n; i++) {
            ImageTransform.Placement p = ImageTransform.place(a, true, true, 9, 2, i);
            assertEquals(p, ImageTransform.place(a, true, true, 9, 2, i));
            lefts.add(p.cropLeft());
            tops.add(p.cropTop());
            if (p.flipped()) flips++;
        }
        assertEquals(Set.of(0, 1, 2, 3, 4, 5, 6), lefts, "randint(0, 6) includes both ends");
        assertEquals(Set.of(0, 1, 2, 3), tops);
        assertEquals(0.5, (double) flips / n, 5 * Math.sqrt(0.25 / n));
        ImageTransform.Placement centre = ImageTransform.place(a, false, false, 9, 2, 0);
        assertEquals(3, centre.cropLeft());
        assertEquals(1, centre.cropTop());
        assertTrue(!centre.flipped());
    }
}
