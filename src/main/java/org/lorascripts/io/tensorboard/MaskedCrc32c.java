package org.lorascripts.io.tensorboard;

import java.util.zip.CRC32C;

/**
 * CRC-32C (Castagnoli) with the masking TFRecord applies (tensorflow/core/lib/hash/crc32c.h):
 * checksumming data that itself contains CRCs is weak, so the stored value is rotated right by 15
 * bits and offset by a constant.
 */
public final class MaskedCrc32c {
    private static final int MASK_DELTA = 0xa282ead8;

    private MaskedCrc32c() {}

    public static int crc32c(byte[] data, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(data, offset, length);
        return (int) crc.getValue();
    }

    public static int mask(int crc) {
        return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
    }

    public static int unmask(int masked) {
        int rot = masked - MASK_DELTA;
        return (rot >>> 17) | (rot << 15);
    }

    public static int maskedCrc32c(byte[] data, int offset, int length) {
        return mask(crc32c(data, offset, length));
    }

    public static int maskedCrc32c(byte[] data) {
        return maskedCrc32c(data, 0, data.length);
    }
}
