package org.lorascripts.label;

import org.lorascripts.io.image.PilBicubicResize;
import org.lorascripts.io.image.RgbaImage;

/**
 * Turns an image into BLIP's pixel_values as HF's PIL-backed image processor does ({@code BlipImageProcessor}
 * in transformers 4, {@code BlipImageProcessorPil} in 5; checked bit-exact by BlipReferenceTest):
 * convert to RGB (Pillow's RGBA → RGB drops alpha, it does not composite), resize to size × size with
 * Pillow BICUBIC (resample=3, ported bit-exactly in {@link PilBicubicResize}), rescale by 1/255, normalise
 * with OpenAI CLIP's mean and std, channels first. Rescale and normalise follow numpy's float32 steps
 * (the 1/255 product in float64 cast to float32, then (x - mean) / std in float32), so values match the
 * reference exactly. Reference:
 * https://github.com/huggingface/transformers/blob/main/src/transformers/models/blip/image_processing_blip.py
 *
 * <p>transformers 5's default {@code BlipImageProcessor} resizes with torchvision (antialiased bicubic,
 * rounded to 8 bits) instead; on the fixture image it differs from this by at most one 8-bit step.
 */
public final class BlipPreprocessor {
    public static final double[] MEAN = {0.48145466, 0.4578275, 0.40821073};
    public static final double[] STD = {0.26862954, 0.26130258, 0.27577711};

    private BlipPreprocessor() {}

    /** Returns 3*size*size floats, channel-major (3, size, size), R, G, B. */
    public static float[] toPixels(RgbaImage image, int size) {
        int w = image.width(), h = image.height();
        byte[] rgb = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) {
            int p = image.argb()[i];
            rgb[i * 3] = (byte) (p >> 16);
            rgb[i * 3 + 1] = (byte) (p >> 8);
            rgb[i * 3 + 2] = (byte) p;
        }
        if (w != size || h != size) rgb = PilBicubicResize.resize(rgb, w, h, size, size);
        float[] out = new float[3 * size * size];
        for (int c = 0; c < 3; c++) {
            float mean = (float) MEAN[c], std = (float) STD[c];
            for (int i = 0; i < size * size; i++) {
                float x = (float) ((rgb[i * 3 + c] & 0xFF) * (1 / 255.0));
                out[c * size * size + i] = (x - mean) / std;
            }
        }
        return out;
    }
}
