package org.lorascripts.text.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Exact chunk layouts for kohya's max_token_length, written out from the rule in
 * library/strategy_base.py with "a" (one token per word) as the text.
 */
class ClipTokenizerChunkTest {
    private static final ClipTokenizer SD1 = ClipTokenizer.bundled();
    private static final ClipTokenizer SD2 = ClipTokenizer.bundled().withPadId(0);
    private static final int BOS = 49406;
    private static final int EOS = 49407;
    private static final int A = SD1.encode("a")[0];

    /** Concatenates runs given as (id, count) pairs. */
    private static int[] runs(int... idCount) {
        int n = 0;
        for (int i = 1; i < idCount.length; i += 2) n += idCount[i];
        int[] out = new int[n];
        int at = 0;
        for (int i = 0; i < idCount.length; i += 2) {
            Arrays.fill(out, at, at + idCount[i + 1], idCount[i]);
            at += idCount[i + 1];
        }
        assertEquals(77, n, "a chunk layout must have 77 ids");
        return out;
    }

    private static String words(int n) {
        return "a ".repeat(n);
    }

    @Test
    void maxTokenLength75IsOnePlainSequence() {
        int[][] chunks = SD1.encodeChunks(words(80), 75);
        assertEquals(1, chunks.length);
        assertArrayEquals(SD1.encodeForModel(words(80)), chunks[0]);
        assertArrayEquals(SD2.encodeForModel(words(3)), SD2.encodeChunks(words(3), 75)[0]);
    }

    @Test
    void sd1ChunksAllEndWithEos() {
        // 76 tokens for 150: the second chunk holds one token, then EOS, then EOS padding.
        assertArrayEquals(new int[][] {
                runs(BOS, 1, A, 75, EOS, 1),
                runs(BOS, 1, A, 1, EOS, 75)}, SD1.encodeChunks(words(76), 150));
        // Text shorter than one chunk: the later chunks are BOS + EOS only.
        assertArrayEquals(new int[][] {
                runs(BOS, 1, A, 10, EOS, 66),
                runs(BOS, 1, EOS, 76),
                runs(BOS, 1, EOS, 76)}, SD1.encodeChunks(words(10), 225));
        // 300 tokens for 225: three full chunks, the rest truncated.
        int[][] full = SD1.encodeChunks(words(300), 225);
        assertEquals(3, full.length);
        for (int[] c : full) assertArrayEquals(runs(BOS, 1, A, 75, EOS, 1), c);
    }

    @Test
    void sd2ChunksCloseWithEosThenPadWithZero() {
        // First chunk full: its closing id would be the pad (0) but a token precedes it, so it becomes EOS.
        assertArrayEquals(new int[][] {
                runs(BOS, 1, A, 75, EOS, 1),
                runs(BOS, 1, A, 1, EOS, 1, 0, 74)}, SD2.encodeChunks(words(76), 150));
        // Empty later chunks become BOS, EOS, zeros.
        assertArrayEquals(new int[][] {
                runs(BOS, 1, A, 10, EOS, 1, 0, 65),
                runs(BOS, 1, EOS, 1, 0, 75),
                runs(BOS, 1, EOS, 1, 0, 75)}, SD2.encodeChunks(words(10), 225));
        // Exactly 75 tokens: the text's EOS lands at the start of the second chunk.
        assertArrayEquals(new int[][] {
                runs(BOS, 1, A, 75, EOS, 1),
                runs(BOS, 1, EOS, 1, 0, 75)}, SD2.encodeChunks(words(75), 150));
        // 150 tokens exactly fill 150: both chunks full, the second closed by the text's own EOS.
        assertArrayEquals(new int[][] {
                runs(BOS, 1, A, 75, EOS, 1),
                runs(BOS, 1, A, 75, EOS, 1)}, SD2.encodeChunks(words(150), 150));
        // Empty text.
        assertArrayEquals(new int[][] {
                runs(BOS, 1, EOS, 1, 0, 75),
                runs(BOS, 1, EOS, 1, 0, 75)}, SD2.encodeChunks("", 150));
    }

    @Test
    void chunksCarryTheTokensInOrder() {
        String text = "masterpiece, best quality, ".repeat(50);
        int[] tokens = SD1.encode(text);
        int[][] chunks = SD2.encodeChunks(text, 225);
        for (int k = 0; k < 3; k++) {
            assertArrayEquals(Arrays.copyOfRange(tokens, 75 * k, 75 * k + 75), Arrays.copyOfRange(chunks[k], 1, 76), "chunk " + k);
        }
    }

    @Test
    void rejectsLengthsThatAreNotWholeChunks() {
        var e = assertThrows(IllegalArgumentException.class, () -> SD1.encodeChunks("a", 100));
        assertEquals(true, e.getMessage().contains("100"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SD1.encodeChunks("a", 0));
    }
}
