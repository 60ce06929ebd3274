package org.lorascripts.io.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

class PilBicubicResizeTest {
    private static int[] noise(int w, int h, long seed) {
        Random r = new Random(seed);
        int[] px = new int[w * h];
        for (int i = 0; i < px.length; i++) px[i] = 0xFF000000 | r.nextInt(1 << 24);
        return px;
    }

    private static byte[] crop(byte[] rgb, int w, int left, int top, int cw, int ch) {
        byte[] out = new byte[cw * ch * 3];
        for (int y = 0; y < ch; y++) System.arraycopy(rgb, ((top + y) * w + left) * 3, out, y * cw * 3, cw * 3);
        return out;
    }

    private static byte[] bytes(int[] argb) {
        byte[] rgb = new byte[argb.length * 3];
        for (int i = 0; i < argb.length; i++) {
            rgb[3 * i] = (byte) (argb[i] >> 16);
            rgb[3 * i + 1] = (byte) (argb[i] >> 8);
            rgb[3 * i + 2] = (byte) argb[i];
        }
        return rgb;
    }

    @Test
    void aWindowEqualsTheResizedImageCropped() {
        int w = 97, h = 61;
        int[] px = noise(w, h, 3);
        // shrink both ways, enlarge both ways, shrink one and enlarge the other, one side unchanged
        int[][] sizes = {{40, 33}, {150, 90}, {50, 80}, {97, 30}, {45, 61}};
        for (int[] s : sizes) {
            byte[] full = PilBicubicResize.resize(bytes(px), w, h, s[0], s[1]);
            assertArrayEquals(full, PilBicubicResize.window(px, w, h, s[0], s[1], 0, 0, s[0], s[1]), "whole " + s[0] + "x" + s[1]);
            int cw = s[0] / 2, ch = s[1] / 3, left = s[0] - cw - 1, top = s[1] / 4;
            assertArrayEquals(crop(full, s[0], left, top, cw, ch), PilBicubicResize.window(px, w, h, s[0], s[1], left, top, cw, ch),
                    "window of " + s[0] + "x" + s[1]);
        }
    }

    @Test
    void aLargeResizeRunInParallelEqualsItsRowsComputedOneByOne() {
        int w = 1200, h = 900, ow = 301, oh = 250;   // each whole pass is above the parallel threshold, one row below it
        int[] px = noise(w, h, 5);
        byte[] whole = PilBicubicResize.window(px, w, h, ow, oh, 0, 0, ow, oh);
        byte[] rows = new byte[whole.length];
        for (int y = 0; y < oh; y++) {
            System.arraycopy(PilBicubicResize.window(px, w, h, ow, oh, 0, y, ow, 1), 0, rows, y * ow * 3, ow * 3);
        }
        assertArrayEquals(rows, whole);
    }

    @Test
    void refusesAWindowOutsideTheResizedImage() {
        int[] px = noise(10, 10, 1);
        assertThrows(IllegalArgumentException.class, () -> PilBicubicResize.window(px, 10, 10, 8, 8, 1, 0, 8, 8));
        assertThrows(IllegalArgumentException.class, () -> PilBicubicResize.window(px, 10, 9, 8, 8, 0, 0, 8, 8));
    }
}
