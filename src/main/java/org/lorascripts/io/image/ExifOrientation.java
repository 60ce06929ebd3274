package org.lorascripts.io.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads the EXIF Orientation tag (0x0112) of a JPEG from its APP1 "Exif" segment and turns images
 * upright. Cameras store portrait photos sideways with this tag; ImageIO ignores it, so without this a
 * tagger (and the trainer) would see the photo rotated. Values follow EXIF 2.3 / TIFF 6.0: 1 upright,
 * 2 mirrored, 3 rotated 180, 4 flipped, 5 transposed, 6 needs 90° clockwise, 7 transversed, 8 needs 90°
 * counter-clockwise (the same mapping as Pillow's ImageOps.exif_transpose).
 */
public final class ExifOrientation {
    private static final int TAG_ORIENTATION = 0x0112;

    private ExifOrientation() {}

    /** The orientation 1..8 of a JPEG file's bytes; 1 when absent, malformed or not a JPEG. */
    public static int read(byte[] jpeg) {
        try {
            return readOrThrow(jpeg);
        } catch (RuntimeException e) {   // truncated or odd EXIF is common; it must not make the image unreadable
            return 1;
        }
    }

    private static int readOrThrow(byte[] b) {
        if (b.length < 4 || (b[0] & 0xFF) != 0xFF || (b[1] & 0xFF) != 0xD8) return 1;
        int pos = 2;
        while (pos + 4 <= b.length) {
            if ((b[pos] & 0xFF) != 0xFF) return 1;
            int marker = b[pos + 1] & 0xFF;
            if (marker == 0xFF) {   // fill byte
                pos++;
                continue;
            }
            if (marker == 0xDA || marker == 0xD9) return 1;   // start of scan / end: no more metadata
            int length = ((b[pos + 2] & 0xFF) << 8) | (b[pos + 3] & 0xFF);
            int data = pos + 4;
            if (marker == 0xE1 && length >= 8 && data + 6 <= b.length
                    && b[data] == 'E' && b[data + 1] == 'x' && b[data + 2] == 'i' && b[data + 3] == 'f'
                    && b[data + 4] == 0 && b[data + 5] == 0) {
                int end = Math.min(b.length, pos + 2 + length);
                return fromTiff(ByteBuffer.wrap(b, data + 6, end - data - 6).slice());
            }
            pos += 2 + length;
        }
        return 1;
    }

    private static int fromTiff(ByteBuffer tiff) {
        short order = tiff.getShort(0);
        if (order == 0x4949) tiff.order(ByteOrder.LITTLE_ENDIAN);        // "II"
        else if (order == 0x4D4D) tiff.order(ByteOrder.BIG_ENDIAN);      // "MM"
        else return 1;
        if ((tiff.getShort(2) & 0xFFFF) != 42) return 1;
        int ifd0 = tiff.getInt(4);
        int count = tiff.getShort(ifd0) & 0xFFFF;
        for (int i = 0; i < count; i++) {
            int entry = ifd0 + 2 + 12 * i;
            if ((tiff.getShort(entry) & 0xFFFF) == TAG_ORIENTATION) {
                int type = tiff.getShort(entry + 2) & 0xFFFF;
                // SHORT (3) as the spec says; a few writers use LONG (4).
                int value = type == 4 ? tiff.getInt(entry + 8) : tiff.getShort(entry + 8) & 0xFFFF;
                return value >= 1 && value <= 8 ? value : 1;
            }
        }
        return 1;
    }

    /** The upright image for an orientation value (1..8). */
    public static RgbaImage apply(RgbaImage in, int orientation) {
        if (orientation <= 1 || orientation > 8) return in;
        int w = in.width();
        int h = in.height();
        boolean swap = orientation >= 5;   // 5..8 exchange width and height
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        int[] out = new int[ow * oh];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx;
                int sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - x; sy = y; }
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }
                    case 4 -> { sx = x; sy = h - 1 - y; }
                    case 5 -> { sx = y; sy = x; }
                    case 6 -> { sx = y; sy = h - 1 - x; }
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }
                    default -> { sx = w - 1 - y; sy = x; }   // 8
                }
                out[y * ow + x] = in.at(sx, sy);
            }
        }
        return new RgbaImage(ow, oh, out);
    }
}
