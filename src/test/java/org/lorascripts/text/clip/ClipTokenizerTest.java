package org.lorascripts.text.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

class ClipTokenizerTest {
    private static final ClipTokenizer TOK = ClipTokenizer.bundled();

    /** The merges lines 2..48895 of the shipped file, read independently of ClipVocabulary. */
    private static List<String> mergeLines() throws Exception {
        try (var in = new BufferedReader(new InputStreamReader(new GZIPInputStream(
                ClipTokenizerTest.class.getResourceAsStream("/clip/bpe_simple_vocab_16e6.txt.gz")), StandardCharsets.UTF_8))) {
            List<String> lines = new ArrayList<>();
            in.readLine();
            for (int i = 0; i < 48894; i++) lines.add(in.readLine());
            return lines;
        }
    }

    private static int[] repeat(int id, int n) {
        int[] a = new int[n];
        Arrays.fill(a, id);
        return a;
    }

    @Test
    void vocabularyHas49408EntriesWithTheSpecialTokensLast() {
        assertEquals(49408, TOK.vocabSize());
        assertEquals(49406, TOK.startOfTextId());
        assertEquals(49407, TOK.endOfTextId());
        assertEquals("<|startoftext|>", TOK.token(49406));
        assertEquals("<|endoftext|>", TOK.token(49407));
        assertEquals(49407, TOK.padId(), "SD 1.x pads with <|endoftext|>");
    }

    @Test
    void vocabularyIsByteSymbolsThenEndOfWordSymbolsThenOneEntryPerMerge() throws Exception {
        Set<String> byteSymbols = new HashSet<>();
        for (int id = 0; id < 256; id++) {
            String t = TOK.token(id);
            assertEquals(1, t.length(), "id " + id);
            assertEquals(t + "</w>", TOK.token(id + 256));
            byteSymbols.add(t);
        }
        assertEquals(256, byteSymbols.size(), "the 256 byte symbols are distinct");
        assertEquals("!", TOK.token(0), "printable bytes come first, in byte order");
        assertEquals("Ā", TOK.token(188), "then the 68 unprintable bytes, shifted to U+0100...");
        List<String> merges = mergeLines();
        for (int i : new int[] {0, 1, 1000, 30000, merges.size() - 1}) {
            assertEquals(merges.get(i).replace(" ", ""), TOK.token(512 + i), "merge " + i);
        }
        assertEquals(512 + merges.size(), TOK.startOfTextId());
    }

    @Test
    void encodingHasNoSpecialTokensUnlessTheTextSpellsThemExactly() {
        int[] ids = TOK.encode("a photo of a cat");
        assertTrue(Arrays.stream(ids).noneMatch(id -> id >= 49406));
        assertArrayEquals(new int[] {49406}, TOK.encode("<|startoftext|>"));
        assertArrayEquals(new int[] {49407}, TOK.encode(" <|endoftext|> "));
        assertTrue(Arrays.stream(TOK.encode("<|EndOfText|>")).noneMatch(id -> id >= 49406),
                "only the exact spelling is special, as in Hugging Face's tokenizer");
        assertArrayEquals(new int[0], TOK.encode(""));
        assertArrayEquals(new int[0], TOK.encode(" \t\n\u00a0\u3000"));
    }

    @Test
    void upperCaseAndWhitespaceDoNotChangeTokens() {
        assertArrayEquals(TOK.encode("a red fox, jumping"), TOK.encode("  A  RED\tFox ,\n\nJUMPING "));
        assertArrayEquals(TOK.encode("caf\u00e9"), TOK.encode("cafe\u0301"), "NFC composes the accent first");
    }

    @Test
    void everyWordEndsWithAnEndOfWordToken() {
        int[] ids = TOK.encode("supercalifragilistic 12 tokenizer");
        // Digits are single pieces, so "1" and "2" each end a word.
        int endsOfWord = 0;
        for (int id : ids) if (TOK.token(id).endsWith("</w>")) endsOfWord++;
        assertEquals(4, endsOfWord, Arrays.toString(ids));
        assertTrue(ids.length > 4, "long words take more than one token");
    }

    @Test
    void shortTextIsPaddedWithEitherPadToken() {
        int[] tokens = TOK.encode("a photo of a cat");
        int n = tokens.length;
        for (int pad : new int[] {49407, 0}) {
            int[] ids = TOK.encodeForModel("a photo of a cat", 77, pad);
            assertEquals(77, ids.length);
            assertEquals(49406, ids[0]);
            assertArrayEquals(tokens, Arrays.copyOfRange(ids, 1, n + 1));
            assertEquals(49407, ids[n + 1], "EOS closes the text whatever the pad");
            assertArrayEquals(repeat(pad, 77 - n - 2), Arrays.copyOfRange(ids, n + 2, 77));
        }
        assertArrayEquals(TOK.encodeForModel("x", 77, 0), TOK.withPadId(0).encodeForModel("x"));
    }

    @Test
    void longTextIsTruncatedTo75TokensAndStillEndsWithEos() {
        String text = "a ".repeat(100);
        for (int pad : new int[] {49407, 0}) {
            int[] ids = TOK.encodeForModel(text, 77, pad);
            assertEquals(77, ids.length);
            assertEquals(49406, ids[0]);
            assertArrayEquals(repeat(TOK.encode("a")[0], 75), Arrays.copyOfRange(ids, 1, 76));
            assertEquals(49407, ids[76]);
        }
        int[] exact = TOK.encodeForModel("a ".repeat(75), 77, 0);
        assertEquals(49407, exact[76], "75 tokens fill the sequence exactly: no pad at all");
        assertEquals(9, TOK.encodeForModel("a ".repeat(20), 9, 0).length, "other lengths work too");
    }

    @Test
    void rejectsImpossibleLengthsAndIds() {
        assertThrows(IllegalArgumentException.class, () -> TOK.encodeForModel("a", 1, 0));
        assertThrows(IllegalArgumentException.class, () -> TOK.encodeForModel("a", 77, 49408));
        assertThrows(IllegalArgumentException.class, () -> TOK.withPadId(-1));
        var e = assertThrows(IllegalArgumentException.class, () -> TOK.decode(new int[] {320, 49408}));
        assertTrue(e.getMessage().contains("49408"), e.getMessage());
    }

    @Test
    void decodeRestoresTextUpToCaseAndSpacing() {
        assertEquals("a photo of a cat", TOK.decode(TOK.encode("A  photo\tof a CAT")));
        assertEquals("café 😀 日本", TOK.decode(TOK.encode("Café 😀 日本")));
        assertEquals("<|startoftext|>a cat <|endoftext|>", TOK.decode(TOK.encodeForModel("a cat", 4, 49407)));
        int[] emoji = TOK.encode("😀");
        assertTrue(emoji.length >= 1);
        // A lone continuation byte is not UTF-8: it comes back as U+FFFD, not as an exception.
        int lastByte = emoji[emoji.length - 1];
        assertNotEquals("", TOK.decode(new int[] {lastByte}));
    }

    @Test
    void withPadIdSharesTheVocabularyAndKeepsEncoding() {
        ClipTokenizer sd2 = TOK.withPadId(0);
        assertEquals(0, sd2.padId());
        assertSame(TOK, TOK.withPadId(49407));
        assertArrayEquals(TOK.encode("same words"), sd2.encode("same words"));
    }

    @Test
    void aPadTokenSpelledInTheTextEncodesAsThePad() {
        ClipTokenizer sd2 = TOK.withPadId(0);
        int wow = TOK.encode("wow")[0];
        assertArrayEquals(new int[] {wow, 256}, TOK.encode("wow!"), "SD 1.x: '!' ends a word like any symbol");
        assertArrayEquals(new int[] {wow, 0, 0, wow}, sd2.encode("wow!!wow"), "SD 2.x: each '!' is the pad token");
        assertArrayEquals(new int[] {49406, wow, 0, 49407, 0}, sd2.encodeForModel("wow!", 5, 0));
    }
}
