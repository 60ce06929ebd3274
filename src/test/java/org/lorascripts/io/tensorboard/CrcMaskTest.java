package org.lorascripts.io.tensorboard;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class CrcMaskTest {
    @Test
    void crc32cCheckValue() {
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals(0xE3069283, MaskedCrc32c.crc32c(check, 0, check.length));
    }

    @Test
    void crc32cRfc3720Vectors() {
        // RFC 3720 (iSCSI) B.4: 32 bytes of zeros and 32 bytes of 0xFF.
        byte[] zeros = new byte[32];
        byte[] ones = new byte[32];
        Arrays.fill(ones, (byte) 0xFF);
        assertEquals(0x8A9136AA, MaskedCrc32c.crc32c(zeros, 0, 32));
        assertEquals(0x62A8AB43, MaskedCrc32c.crc32c(ones, 0, 32));
    }

    @Test
    void maskMatchesHandComputedValue() {
        // ((0xE3069283 >>> 15) | (0xE3069283 << 17)) + 0xa282ead8 mod 2^32, computed in Python.
        assertEquals(0xC78AB0E5, MaskedCrc32c.mask(0xE3069283));
        assertEquals(0xa282ead8, MaskedCrc32c.maskedCrc32c(new byte[0]));
    }

    @Test
    void unmaskInvertsMask() {
        for (int crc : new int[] {0, 1, -1, 0x80000000, 0xE3069283, 0x12345678}) {
            assertEquals(crc, MaskedCrc32c.unmask(MaskedCrc32c.mask(crc)));
        }
    }

    @Test
    void frameLayout() {
        byte[] data = "abc".getBytes(StandardCharsets.US_ASCII);
        byte[] framed = TfRecordWriter.frame(data);
        assertEquals(8 + 4 + 3 + 4, framed.length);
        assertEquals(3, framed[0]);
        for (int i = 1; i < 8; i++) assertEquals(0, framed[i]);
        int lengthCrc = (framed[8] & 0xFF) | (framed[9] & 0xFF) << 8 | (framed[10] & 0xFF) << 16 | (framed[11] & 0xFF) << 24;
        assertEquals(MaskedCrc32c.maskedCrc32c(framed, 0, 8), lengthCrc);
        int dataCrc = (framed[15] & 0xFF) | (framed[16] & 0xFF) << 8 | (framed[17] & 0xFF) << 16 | (framed[18] & 0xFF) << 24;
        assertEquals(MaskedCrc32c.maskedCrc32c(data), dataCrc);
    }
}
