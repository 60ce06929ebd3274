package org.lorascripts.text.clip;

/**
 * GPT-2's {@code bytes_to_unicode}: each of the 256 byte values gets a printable character so that
 * BPE can work on strings without ever seeing whitespace or control characters. Printable Latin-1
 * bytes map to themselves; the other 68 take code points 256, 257, ... in byte order.
 *
 * <p>The order of {@link #symbols()} is the order of the first 256 CLIP vocabulary entries.
 */
final class ByteLevelAlphabet {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[256 + 68];
    /** Vocabulary order: the self-mapped bytes first, then the shifted ones (dict order in Python). */
    private static final char[] SYMBOLS = new char[256];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int n = 0;
        for (int b = 0; b < 256; b++) {
            if (selfMapped(b)) SYMBOLS[n++] = (char) b;
        }
        int shifted = 0;
        for (int b = 0; b < 256; b++) {
            char c = selfMapped(b) ? (char) b : (char) (256 + shifted++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
            if (!selfMapped(b)) SYMBOLS[n++] = c;
        }
    }

    private ByteLevelAlphabet() {}

    private static boolean selfMapped(int b) {
        return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }

    static char symbol(byte b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte a symbol stands for, or -1 when the character is not one of the 256 symbols. */
    static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    static char[] symbols() {
        return SYMBOLS.clone();
    }

    /** The UTF-8 bytes of {@code text}, one symbol per byte. */
    static String encode(String text) {
        byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        char[] out = new char[utf8.length];
        for (int i = 0; i < utf8.length; i++) out[i] = symbol(utf8[i]);
        return new String(out);
    }
}
