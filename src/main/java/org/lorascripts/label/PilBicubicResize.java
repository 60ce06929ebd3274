package org.lorascripts.label;

/**
 * Pillow's {@code Image.resize(size, Image.BICUBIC)} for 8-bit RGB, ported exactly so our tagger input
 * matches the reference bit for bit. Port of Pillow's libImaging/Resample.c: a separable convolution
 * (horizontal pass, then vertical), the cubic kernel with a = -0.5 and support 2, the support widened
 * by the scale factor when shrinking (antialiasing), coefficients normalised to sum 1 and then turned
 * into 22-bit fixed point, and each pass rounded and clipped to 0..255 before the next one.
 */
public final class PilBicubicResize {
    private static final int PRECISION_BITS = 32 - 8 - 2;
    private static final double SUPPORT = 2.0;

    private PilBicubicResize() {}

    /** {@code rgb} is width*height*3 interleaved bytes (row-major); returns outW*outH*3 bytes. */
    public static byte[] resize(byte[] rgb, int width, int height, int outW, int outH) {
        byte[] horizontal = width == outW ? rgb : horizontal(rgb, width, height, outW);
        if (height == outH) return horizontal;
        return vertical(horizontal, outW, height, outH);
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

    private static byte[] horizontal(byte[] in, int width, int height, int outW) {
        Coefficients c = coefficients(width, outW);
        byte[] out = new byte[outW * height * 3];
        for (int y = 0; y < height; y++) {
            for (int xx = 0; xx < outW; xx++) {
                int base = xx * c.ksize();
                for (int ch = 0; ch < 3; ch++) {
                    int acc = 1 << (PRECISION_BITS - 1);   // rounds the final shift
                    for (int x = 0; x < c.count()[xx]; x++) {
                        acc += (in[(y * width + c.start()[xx] + x) * 3 + ch] & 0xFF) * c.weights()[base + x];
                    }
                    out[(y * outW + xx) * 3 + ch] = (byte) clip8(acc);
                }
            }
        }
        return out;
    }

    private static byte[] vertical(byte[] in, int width, int height, int outH) {
        Coefficients c = coefficients(height, outH);
        byte[] out = new byte[width * outH * 3];
        for (int yy = 0; yy < outH; yy++) {
            int base = yy * c.ksize();
            for (int x = 0; x < width; x++) {
                for (int ch = 0; ch < 3; ch++) {
                    int acc = 1 << (PRECISION_BITS - 1);
                    for (int y = 0; y < c.count()[yy]; y++) {
                        acc += (in[((c.start()[yy] + y) * width + x) * 3 + ch] & 0xFF) * c.weights()[base + y];
                    }
                    out[(yy * width + x) * 3 + ch] = (byte) clip8(acc);
                }
            }
        }
        return out;
    }
}
