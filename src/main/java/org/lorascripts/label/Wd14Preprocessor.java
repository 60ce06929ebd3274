package org.lorascripts.label;

import org.lorascripts.io.image.PilBicubicResize;
import org.lorascripts.io.image.RgbaImage;

/**
 * Turns an image into a WD14 tagger input: (H, W, 3) float32 BGR in 0..255, no normalisation.
 *
 * <p>Follows SmilingWolf's wd-tagger Space, {@code Predictor.prepare_image} in
 * https://huggingface.co/spaces/SmilingWolf/wd-tagger/blob/main/app.py: alpha-composite onto white
 * (Pillow's {@code alpha_composite}), pad to a square on white with the image centred
 * ({@code pad = (max_dim - size) // 2}), resize with Pillow BICUBIC only when the square is not
 * already the model size, then RGB → BGR. kohya's tag_images_by_wd14_tagger.py differs (cv2
 * INTER_AREA / LANCZOS4, alpha dropped rather than composited); we follow app.py, the model author's own.
 */
public final class Wd14Preprocessor {
    private Wd14Preprocessor() {}

    /** Returns size*size*3 floats, row-major, channels B, G, R. */
    public static float[] toBgr(RgbaImage image, int size) {
        byte[] rgb = paddedSquare(image);
        int side = Math.max(image.width(), image.height());
        if (side != size) rgb = PilBicubicResize.resize(rgb, side, side, size, size);
        float[] out = new float[size * size * 3];
        for (int i = 0; i < size * size; i++) {
            out[i * 3] = rgb[i * 3 + 2] & 0xFF;
            out[i * 3 + 1] = rgb[i * 3 + 1] & 0xFF;
            out[i * 3 + 2] = rgb[i * 3] & 0xFF;
        }
        return out;
    }

    /** The composited image centred on a white max(w, h) square, as interleaved RGB bytes. */
    static byte[] paddedSquare(RgbaImage image) {
        int w = image.width();
        int h = image.height();
        int side = Math.max(w, h);
        int left = (side - w) / 2;
        int top = (side - h) / 2;
        byte[] rgb = new byte[side * side * 3];
        java.util.Arrays.fill(rgb, (byte) 0xFF);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int p = onWhite(image.at(x, y));
                int o = ((y + top) * side + x + left) * 3;
                rgb[o] = (byte) (p >> 16);
                rgb[o + 1] = (byte) (p >> 8);
                rgb[o + 2] = (byte) p;
            }
        }
        return rgb;
    }

    /**
     * Pillow's integer "over" operator (libImaging/AlphaComposite.c) with an opaque white destination,
     * so semi-transparent pixels round exactly as the reference's do.
     */
    static int onWhite(int argb) {
        int a = argb >>> 24;
        if (a == 0) return 0xFFFFFF;
        final int precision = 7;
        long blend = 255L * (255 - a);
        long outa255 = a * 255L + blend;
        long coef1 = a * 255L * 255L * (1 << precision) / outa255;
        long coef2 = 255L * (1 << precision) - coef1;
        int r = channelOver((argb >> 16) & 0xFF, coef1, coef2, precision);
        int g = channelOver((argb >> 8) & 0xFF, coef1, coef2, precision);
        int b = channelOver(argb & 0xFF, coef1, coef2, precision);
        return (r << 16) | (g << 8) | b;
    }

    private static int channelOver(int src, long coef1, long coef2, int precision) {
        long tmp = src * coef1 + 255 * coef2 + (0x80L << precision);
        return (int) ((((tmp >> 8) + tmp) >> 8) >> precision);   // Pillow's SHIFTFORDIV255, then drop precision
    }
}
