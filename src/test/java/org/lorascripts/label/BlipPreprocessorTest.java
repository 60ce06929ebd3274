package org.lorascripts.label;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.lorascripts.io.image.RgbaImage;

/** BLIP's pixel_values by hand: x/255, minus OpenAI CLIP's mean, over its std, channels first. */
class BlipPreprocessorTest {

    private static double normalised(int value, int channel) {
        return (value / 255.0 - BlipPreprocessor.MEAN[channel]) / BlipPreprocessor.STD[channel];
    }

    @Test
    void normalisesWithClipMeanAndStdChannelsFirst() {
        // 2x2 at the model size: no resize. Pixels (R, G, B): (255, 0, 128) (0, 255, 64) (10, 20, 30) (200, 100, 50)
        int[] argb = {0xFFFF0080, 0xFF00FF40, 0xFF0A141E, 0xFFC86432};
        float[] px = BlipPreprocessor.toPixels(new RgbaImage(2, 2, argb), 2);
        assertEquals(12, px.length);
        // hand values: R of 255 → (1 - 0.48145466) / 0.26862954 = 1.93033...; G of 0 → -0.4578275 / 0.26130258 = -1.75209...
        assertEquals(1.9303361, px[0], 1e-6);
        assertEquals(-1.7520971, px[4], 1e-6);
        int[][] rgb = {{255, 0, 128}, {0, 255, 64}, {10, 20, 30}, {200, 100, 50}};
        for (int i = 0; i < 4; i++) {
            for (int c = 0; c < 3; c++) assertEquals(normalised(rgb[i][c], c), px[c * 4 + i], 1e-6, "pixel " + i + " channel " + c);
        }
    }

    @Test
    void alphaIsDroppedNotComposited() {
        // Pillow's convert("RGB") of RGBA keeps the colour of a transparent pixel
        float[] px = BlipPreprocessor.toPixels(new RgbaImage(1, 1, new int[] {0x00102030}), 1);
        assertEquals(normalised(0x10, 0), px[0], 1e-6);
        assertEquals(normalised(0x20, 1), px[1], 1e-6);
        assertEquals(normalised(0x30, 2), px[2], 1e-6);
    }

    @Test
    void resizesToTheModelSize() {
        // a solid colour stays that colour through Pillow's bicubic resize, up or down
        for (int[] wh : new int[][] {{100, 50}, {7, 9}}) {
            float[] px = BlipPreprocessor.toPixels(RgbaImage.filled(wh[0], wh[1], 0x336699), 16);
            assertEquals(3 * 16 * 16, px.length);
            for (int i = 0; i < 256; i++) {
                assertEquals(normalised(0x33, 0), px[i], 1e-6);
                assertEquals(normalised(0x66, 1), px[256 + i], 1e-6);
                assertEquals(normalised(0x99, 2), px[512 + i], 1e-6);
            }
        }
    }
}
