package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PngWriterTest {

    private static byte[] randomPixels(int n, long seed) {
        byte[] px = new byte[n];
        new Random(seed).nextBytes(px);
        return px;
    }

    private static void assertDecodesTo(byte[] png, byte[] pixels, int w, int h, int channels) throws IOException {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(w, img.getWidth());
        assertEquals(h, img.getHeight());
        Raster raster = img.getRaster();
        assertEquals(channels, raster.getNumBands());
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < channels; c++) {
                    int expected = pixels[(y * w + x) * channels + c] & 0xFF;
                    assertEquals(expected, raster.getSample(x, y, c), "pixel " + x + "," + y + " channel " + c);
                }
            }
        }
    }

    @Test
    void rgbRoundTripsThroughImageIo() throws IOException {
        byte[] px = randomPixels(7 * 5 * 3, 1);
        assertDecodesTo(PngWriter.encode(px, 7, 5, PngWriter.Channels.RGB), px, 7, 5, 3);
    }

    @Test
    void rgbaRoundTripsThroughImageIo() throws IOException {
        byte[] px = randomPixels(3 * 4 * 4, 2);
        assertDecodesTo(PngWriter.encode(px, 3, 4, PngWriter.Channels.RGBA), px, 3, 4, 4);
    }

    @Test
    void grayRoundTripsThroughImageIo() throws IOException {
        byte[] px = randomPixels(9 * 2, 3);
        assertDecodesTo(PngWriter.encode(px, 9, 2, PngWriter.Channels.GRAY), px, 9, 2, 1);
    }

    @Test
    void largeIncompressibleImageRoundTrips() throws IOException {
        byte[] px = randomPixels(300 * 200 * 3, 4);
        assertDecodesTo(PngWriter.encode(px, 300, 200, PngWriter.Channels.RGB), px, 300, 200, 3);
    }

    @Test
    void colourTypeFollowsTheChannels() {
        // IHDR's colour type (byte 25) is what TensorBoard's colorspace is read from: 0 gray, 2 RGB, 6 RGBA
        assertEquals(0, PngWriter.encode(new byte[4], 2, 2, PngWriter.Channels.GRAY)[25]);
        assertEquals(2, PngWriter.encode(new byte[12], 2, 2, PngWriter.Channels.RGB)[25]);
        assertEquals(6, PngWriter.encode(new byte[16], 2, 2, PngWriter.Channels.RGBA)[25]);
    }

    @Test
    void anyBufferedImageEncodes() throws IOException {
        BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        img.setRGB(1, 1, 0x123456);
        BufferedImage back = ImageIO.read(new ByteArrayInputStream(PngWriter.encode(img)));
        assertEquals(0x123456, back.getRGB(1, 1) & 0xFFFFFF);
        assertEquals(0, back.getRGB(0, 0) & 0xFFFFFF);
    }

    @Test
    void rejectsWrongBufferSize() {
        assertThrows(IllegalArgumentException.class, () -> PngWriter.encode(new byte[10], 2, 2, PngWriter.Channels.RGB));
        assertThrows(IllegalArgumentException.class, () -> PngWriter.encode(new byte[0], 0, 2, PngWriter.Channels.RGB));
        assertThrows(IllegalArgumentException.class, () -> PngWriter.Channels.ofCount(2));
    }

    @Test
    void fileWriteIsAtomicAndLeavesNoTemporaries(@TempDir Path dir) throws IOException {
        byte[] px = randomPixels(4 * 4 * 3, 5);
        Path file = dir.resolve("samples/step_000100.png");
        Files.createDirectories(file.getParent());
        Files.writeString(file, "old content");
        PngWriter.write(file, px, 4, 4, PngWriter.Channels.RGB);
        assertDecodesTo(Files.readAllBytes(file), px, 4, 4, 3);
        try (var list = Files.list(file.getParent())) {
            assertEquals(1, list.count());
        }
    }
}
