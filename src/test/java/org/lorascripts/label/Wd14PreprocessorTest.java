package org.lorascripts.label;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.lorascripts.io.image.ImageDecoder;
import org.lorascripts.io.image.PilBicubicResize;
import org.lorascripts.io.image.RgbaImage;

class Wd14PreprocessorTest {

    /** Goldens made by Pillow with the wd-tagger app.py steps (tools/fixtures/make_tiny_tagger.py). */
    @ParameterizedTest
    @ValueSource(strings = {"down_rgba_23x13", "up_rgb_3x5", "same_rgba_8x6", "down_rgb_40x40"})
    void matchesPillowExactly(String name) throws Exception {
        Path dir = LabelFixtures.resource("wd14-preprocess");
        RgbaImage image = ImageDecoder.decode(dir.resolve(name + ".png"));
        float[] expected = readGolden(dir.resolve(name + ".bgr.txt"));
        float[] actual = Wd14Preprocessor.toBgr(image, 8);
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 0.0, name + ": pixel " + (i / 3) + " channel " + (i % 3));
        }
    }

    private static float[] readGolden(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file).stream().filter(l -> !l.startsWith("#")).toList();
        float[] out = new float[lines.size() * 3];
        for (int i = 0; i < lines.size(); i++) {
            String[] v = lines.get(i).trim().split(" ");
            for (int c = 0; c < 3; c++) out[i * 3 + c] = Float.parseFloat(v[c]);
        }
        return out;
    }

    @Test
    void compositesAlphaOntoWhite() {
        assertEquals(0xFFFFFF, Wd14Preprocessor.onWhite(0x00123456));       // fully transparent → white
        assertEquals(0x123456, Wd14Preprocessor.onWhite(0xFF123456));       // opaque → unchanged
        // Half-transparent black over white: 255 * (1 - 128/255) = 127.0 → 127 in Pillow's integer maths.
        assertEquals(0x7F7F7F, Wd14Preprocessor.onWhite(0x80000000));
    }

    @Test
    void padsToCentredWhiteSquare() {
        // 3 wide, 1 high: one white row above (pad_top = (3-1)//2 = 1) and one below.
        RgbaImage img = new RgbaImage(3, 1, new int[] {0xFFFF0000, 0xFF00FF00, 0xFF0000FF});
        byte[] sq = Wd14Preprocessor.paddedSquare(img);
        byte[] white = {(byte) 255, (byte) 255, (byte) 255};
        byte[] row1 = {(byte) 255, 0, 0, 0, (byte) 255, 0, 0, 0, (byte) 255};
        for (int x = 0; x < 3; x++) {
            assertArrayEquals(white, java.util.Arrays.copyOfRange(sq, x * 3, x * 3 + 3));
            assertArrayEquals(white, java.util.Arrays.copyOfRange(sq, 18 + x * 3, 18 + x * 3 + 3));
        }
        assertArrayEquals(row1, java.util.Arrays.copyOfRange(sq, 9, 18));
    }

    @Test
    void swapsToBgrWithoutScaling() {
        // An 8x8 image needs no resize: the output is the pixel values in B, G, R order, 0..255.
        float[] bgr = Wd14Preprocessor.toBgr(RgbaImage.filled(8, 8, 0x102030), 8);
        assertEquals(0x30, bgr[0]);
        assertEquals(0x20, bgr[1]);
        assertEquals(0x10, bgr[2]);
    }

    @Test
    void bicubicAveragesTwoPixelsWhenHalving() {
        // 2 -> 1 pixels: both taps sit 0.25 (in scaled units) from the centre, so they weigh 1/2 each:
        // (0 + 255) / 2 = 127.5, rounded half up in 22-bit fixed point to 128.
        byte[] in = {0, 0, 0, (byte) 255, (byte) 255, (byte) 255};
        byte[] out = PilBicubicResize.resize(in, 2, 1, 1, 1);
        assertEquals(128, out[0] & 0xFF);
        assertEquals(128, out[2] & 0xFF);
    }

    @Test
    void bicubicKeepsSolidColours() {
        byte[] in = new byte[5 * 7 * 3];
        for (int i = 0; i < in.length; i += 3) {
            in[i] = 10;
            in[i + 1] = (byte) 200;
            in[i + 2] = (byte) 255;
        }
        byte[] out = PilBicubicResize.resize(in, 5, 7, 8, 3);
        for (int i = 0; i < out.length; i += 3) {
            assertEquals(10, out[i] & 0xFF);
            assertEquals(200, out[i + 1] & 0xFF);
            assertEquals(255, out[i + 2] & 0xFF);
        }
    }
}
