package org.lorascripts.io.image;

import java.util.stream.IntStream;

/**
 * Pillow's {@code Image.resize(size, Image.BICUBIC)} for 8-bit RGB, ported exactly so that the tagger's input
 * matches the reference bit for bit and training images are resized as Pillow resizes them. Port of Pillow's
 * libImaging/Resample.c: a separable convolution (horizontal pass, then vertical), the cubic kernel with a = -0.5
 * and support 2, the support widened by the scale factor when shrinking (antialiasing), coefficients normalised to
 * sum 1 and then turned into 22-bit fixed point, and each pass rounded and clipped to 0..255 before the next one.
 *
 * <p>{@link #window} computes only a window of the resized image (a bucket's crop): each output pixel depends on its
 * own coefficients alone, so the window equals resizing everything and cropping, for less work. Large passes run
 * their rows in parallel; the result does not depend on it.
 */
public final class PilBicubicResize {
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 2.0;
    /** Multiply-adds of a pass below which it stays on the calling thread. */
    private static final long PARALLEL_WORK = 1L << 20;

    private PilBicubicResize() {}

    /** {@code rgb} is width*height*3 interleaved bytes (row-major); returns outW*outH*3 bytes. */
    public static byte[] resize(byte[] rgb, int width, int height, int outW, int outH) {
        if (rgb.length != width * height * 3) throw new IllegalArgumentException("expected " + width + "x" + height + "x3 bytes, got " + rgb.length);
        int[] argb = new int[width * height];
        for (int i = 0; i < argb.length; i++) {
            argb[i] = (rgb[3 * i] & 0xFF) << 16 | (rgb[3 * i + 1] & 0xFF) << 8 | (rgb[3 * i + 2] & 0xFF);
        }
        return window(argb, width, height, outW, outH, 0, 0, outW, outH);
    }

    /**
     * The window (left, top, winW x winH) of the image resized to outW x outH, as winW*winH*3 RGB bytes (row-major);
     * {@code argb} is width*height 0xAARRGGBB ints (alpha ignored).
     */
    public static byte[] window(int[] argb, int width, int height, int outW, int outH, int left, int top, int winW, int winH) {
        if (argb.length != width * height) throw new IllegalArgumentException("expected " + width + "x" + height + " pixels, got " + argb.length);
        if (outW <= 0 || outH <= 0 || left < 0 || top < 0 || winW <= 0 || winH <= 0 || left + winW > outW || top + winH > outH) {
            throw new IllegalArgumentException("window " + winW + "x" + winH + " at " + left + "," + top + " outside " + outW + "x" + outH);
        }
        Coefficients cy = height == outH ? null : coefficients(height, outH);
        // the input rows the window's output rows read
        int y0 = top, y1 = top + winH;
        if (cy != null) {
            y0 = Integer.MAX_VALUE;
            y1 = 0;
            for (int yy = top; yy < top + winH; yy++) {
                y0 = Math.min(y0, cy.start[yy]);
                y1 = Math.max(y1, cy.start[yy] + cy.count[yy]);
            }
        }
        byte[] rows = horizontal(argb, width, outW, left, winW, y0, y1);   // (y1 - y0) x winW x 3
        if (cy == null) return rows;
        return vertical(rows, winW, y0, cy, top, winH);
    }

    private static double cubic(double x) {
        final double a = -0.5;
        if (x < 0.0) x = -x;
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    /** Per output pixel: first input index, tap count, and ksize fixed-point weights. */
    private record Coefficients(int ksize, int[] start, int[] count, int[] weights) {}

    private static Coefficients coefficients(int inSize, int outSize) {
        double scale = (double) inSize / outSize;
        double filterScale = Math.max(scale, 1.0);
        double support = SUPPORT * filterScale;
        int ksize = (int) Math.ceil(support) * 2 + 1;
        int[] start = new int[outSize];
        int[] count = new int[outSize];
        int[] weights = new int[outSize * ksize];
        double[] k = new double[ksize];
        for (int xx = 0; xx < outSize; xx++) {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = Math.max((int) (center - support + 0.5), 0);   // C's (int) truncates like Java's
            int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++) {
                double w = cubic((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }
            for (int x = 0; x < xmax; x++) {
                double w = ww != 0.0 ? k[x] / ww : k[x];
                weights[xx * ksize + x] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
            }
            start[xx] = xmin;
            count[xx] = xmax;
        }
        return new Coefficients(ksize, start, count, weights);
    }

    private static int clip8(int v) {
        if (v >= (1 << PRECISION_BITS << 8)) return 255;
        if (v <= 0) return 0;
        return v >> PRECISION_BITS;
    }

    private static IntStream range(int from, int to, long workPerItem) {
        IntStream s = IntStream.range(from, to);
        return (long) (to - from) * workPerItem >= PARALLEL_WORK ? s.parallel() : s;
    }

    /** Output columns left..left+winW of input rows y0..y1 (no resize when width == outW), 8-bit. */
    private static byte[] horizontal(int[] in, int width, int outW, int left, int winW, int y0, int y1) {
        byte[] out = new byte[(y1 - y0) * winW * 3];
        if (width == outW) {
            for (int y = y0; y < y1; y++) {
                for (int x = 0; x < winW; x++) {
                    int c = in[y * width + left + x], o = ((y - y0) * winW + x) * 3;
                    out[o] = (byte) (c >> 16);
                    out[o + 1] = (byte) (c >> 8);
                    out[o + 2] = (byte) c;
                }
            }
            return out;
        }
        Coefficients c = coefficients(width, outW);
        range(y0, y1, (long) winW * c.ksize * 3).forEach(y -> {
            for (int xx = left; xx < left + winW; xx++) {
                int base = xx * c.ksize, first = y * width + c.start[xx], n = c.count[xx];
                int r = 1 << (PRECISION_BITS - 1), g = r, b = r;   // rounds the final shift
                for (int x = 0; x < n; x++) {
                    int p = in[first + x], w = c.weights[base + x];
                    r += (p >> 16 & 0xFF) * w;
                    g += (p >> 8 & 0xFF) * w;
                    b += (p & 0xFF) * w;
                }
                int o = ((y - y0) * winW + xx - left) * 3;
                out[o] = (byte) clip8(r);
                out[o + 1] = (byte) clip8(g);
                out[o + 2] = (byte) clip8(b);
            }
        });
        return out;
    }

    /** Output rows top..top+winH from the horizontal pass's rows (input rows y0.., winW wide), 8-bit. */
    private static byte[] vertical(byte[] in, int winW, int y0, Coefficients c, int top, int winH) {
        byte[] out = new byte[winW * winH * 3];
        range(top, top + winH, (long) winW * c.ksize * 3).forEach(yy -> {
            int base = yy * c.ksize, first = c.start[yy] - y0, n = c.count[yy];
            for (int i = 0; i < winW * 3; i++) {
                int acc = 1 << (PRECISION_BITS - 1);
                for (int y = 0; y < n; y++) acc += (in[(first + y) * winW * 3 + i] & 0xFF) * c.weights[base + y];
                out[(yy - top) * winW * 3 + i] = (byte) clip8(acc);
            }
        });
        return out;
    }
}
