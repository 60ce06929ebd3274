package org.lorascripts.io.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.PngWriter;
import org.lorascripts.label.LabelFixtures;

class LabelImageDecoderTest {

    /** A 16x8 JPEG, left half black, right half white, with an EXIF APP1 carrying the orientation. */
    private static byte[] jpegWithOrientation(int orientation, boolean bigEndian) throws IOException {
        BufferedImage img = new BufferedImage(16, 8, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 8; y++) for (int x = 8; x < 16; x++) img.setRGB(x, y, 0xFFFFFF);
        ByteArrayOutputStream jpeg = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", jpeg);
        byte[] plain = jpeg.toByteArray();
        // TIFF header + IFD0 with one entry: tag 0x0112, type SHORT, count 1, value.
        ByteBuffer tiff = ByteBuffer.allocate(8 + 2 + 12 + 4)
                .order(bigEndian ? java.nio.ByteOrder.BIG_ENDIAN : java.nio.ByteOrder.LITTLE_ENDIAN);
        tiff.put(bigEndian ? (byte) 'M' : (byte) 'I').put(bigEndian ? (byte) 'M' : (byte) 'I').putShort((short) 42).putInt(8);
        tiff.putShort((short) 1).putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
        tiff.putInt(0);
        byte[] exif = new byte[6 + tiff.capacity()];
        System.arraycopy(new byte[] {'E', 'x', 'i', 'f', 0, 0}, 0, exif, 0, 6);
        System.arraycopy(tiff.array(), 0, exif, 6, tiff.capacity());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(plain, 0, 2);                                   // SOI
        int len = exif.length + 2;
        out.write(new byte[] {(byte) 0xFF, (byte) 0xE1, (byte) (len >> 8), (byte) len});
        out.write(exif);
        out.write(plain, 2, plain.length - 2);
        return out.toByteArray();
    }

    private static boolean dark(int argb) {
        return (argb & 0xFF) < 64;
    }

    @Test
    void exifOrientationIsRead() throws IOException {
        for (int o = 1; o <= 8; o++) {
            assertEquals(o, ExifOrientation.read(jpegWithOrientation(o, o % 2 == 0)), "orientation " + o);
        }
        assertEquals(1, ExifOrientation.read(new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE1, 0}));
    }

    @Test
    void rotatedJpegIsTurnedUpright(@TempDir Path dir) throws Exception {
        // Orientation 6: the camera needs a 90° clockwise turn; the left (black) half ends up on top.
        Path six = dir.resolve("six.jpg");
        Files.write(six, jpegWithOrientation(6, true));
        RgbaImage up = ImageDecoder.decode(six);
        assertEquals(8, up.width());
        assertEquals(16, up.height());
        assertTrue(dark(up.at(4, 3)) && !dark(up.at(4, 12)), "black half on top");
        // Orientation 8: counter-clockwise; the black half ends up at the bottom.
        Path eight = dir.resolve("eight.jpg");
        Files.write(eight, jpegWithOrientation(8, false));
        RgbaImage down = ImageDecoder.decode(eight);
        assertTrue(!dark(down.at(4, 3)) && dark(down.at(4, 12)), "black half at the bottom");
        // Orientation 3: upside down; black half moves to the right.
        Path three = dir.resolve("three.jpg");
        Files.write(three, jpegWithOrientation(3, true));
        RgbaImage flipped = ImageDecoder.decode(three);
        assertEquals(16, flipped.width());
        assertTrue(!dark(flipped.at(3, 4)) && dark(flipped.at(12, 4)));
    }

    @Test
    void allEightOrientationsMapCorners() {
        // 3x2 image with distinct pixels; check where the top-left source pixel (value 0) goes.
        int[] px = {0, 1, 2, 3, 4, 5};
        RgbaImage in = new RgbaImage(3, 2, px);
        int[][] expectedFirstRow = {
                null, {0, 1, 2}, {2, 1, 0}, {5, 4, 3}, {3, 4, 5}, {0, 3}, {3, 0}, {5, 2}, {2, 5}};
        for (int o = 1; o <= 8; o++) {
            RgbaImage out = ExifOrientation.apply(in, o);
            int[] row = new int[out.width()];
            for (int x = 0; x < out.width(); x++) row[x] = out.at(x, 0);
            assertEquals(java.util.Arrays.toString(expectedFirstRow[o]), java.util.Arrays.toString(row), "orientation " + o);
        }
    }

    @Test
    void webpDecodes() throws Exception {
        RgbaImage img = ImageDecoder.decode(LabelFixtures.resource("red-5x3.webp"));
        assertEquals(5, img.width());
        assertEquals(3, img.height());
        assertEquals(0xFFFF0000, img.at(2, 1));
    }

    @Test
    void grayPngKeepsItsValues(@TempDir Path dir) throws Exception {
        Path gray = dir.resolve("g.png");
        PngWriter.write(gray, new byte[] {0, 100, (byte) 200, (byte) 255}, 2, 2, PngWriter.Channels.GRAY);
        RgbaImage img = ImageDecoder.decode(gray);
        assertEquals(0xFF646464, img.at(1, 0));
        assertEquals(0xFFC8C8C8, img.at(0, 1));
    }

    @Test
    void bmpDecodes(@TempDir Path dir) throws Exception {
        BufferedImage img = new BufferedImage(3, 2, BufferedImage.TYPE_3BYTE_BGR);
        img.setRGB(1, 1, 0x123456);
        Path bmp = dir.resolve("x.bmp");
        ImageIO.write(img, "bmp", bmp.toFile());
        assertEquals(0xFF123456, ImageDecoder.decode(bmp).at(1, 1));
    }

    @Test
    void corruptFilesAreUnreadableWithOneLineReasons(@TempDir Path dir) throws IOException {
        Path garbage = dir.resolve("garbage.png");
        Files.writeString(garbage, "this is not a png");
        var e1 = assertThrows(ImageDecoder.UnreadableImageException.class, () -> ImageDecoder.decode(garbage));
        assertTrue(e1.getMessage().startsWith(garbage.toString()), e1.getMessage());
        Path truncated = dir.resolve("truncated.png");
        byte[] png = PngWriter.encode(new byte[64 * 64 * 3], 64, 64, PngWriter.Channels.RGB);
        Files.write(truncated, java.util.Arrays.copyOf(png, png.length / 2));
        var e2 = assertThrows(ImageDecoder.UnreadableImageException.class, () -> ImageDecoder.decode(truncated));
        assertTrue(e2.getMessage().contains("corrupt or truncated"), e2.getMessage());
        assertTrue(!e2.getMessage().contains("\n"));
    }

    /** A 64x64 JPEG with detail in every row, so that its scan data spans the whole file. */
    static byte[] noisyJpeg() throws IOException {
        BufferedImage img = new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) img.setRGB(x, y, (x * y * 31) ^ (x << 8) ^ y);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "jpg", out);
        return out.toByteArray();
    }

    @Test
    void aJpegCutShortIsUnreadableNotGrayFilled(@TempDir Path dir) throws Exception {
        byte[] jpeg = noisyJpeg();
        Path cut = dir.resolve("cut.jpg");
        Files.write(cut, java.util.Arrays.copyOf(jpeg, jpeg.length / 2));
        var e = assertThrows(ImageDecoder.UnreadableImageException.class, () -> ImageDecoder.decode(cut));
        assertTrue(e.getMessage().startsWith(cut + ": corrupt or truncated image ("), e.getMessage());
        assertTrue(e.getMessage().contains("premature end"), e.getMessage());

        // Only the end marker missing: every pixel is there, so the image stays usable.
        Path noEoi = dir.resolve("no-eoi.jpg");
        Files.write(noEoi, java.util.Arrays.copyOf(jpeg, jpeg.length - 2));
        RgbaImage whole = ImageDecoder.decode(noEoi);
        assertEquals(64, whole.height());
    }
}
