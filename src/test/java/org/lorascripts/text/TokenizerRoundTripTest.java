package org.lorascripts.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;

/** The builtin tiny tokenizer through the HF tokenizers library: round trips, special tokens, no implicit BOS. */
class TokenizerRoundTripTest {
    @TempDir static Path dir;
    static HfTokenizer tok;

    @BeforeAll
    static void load() throws IOException {
        tok = TinyTokenizerFixture.load(dir, Map.of());
    }

    @AfterAll
    static void close() { tok.close(); }

    @Test
    void anyTextRoundTrips() {
        for (String s : new String[] {"Hello, world!", "  leading and trailing spaces  ", "line one\nline two\r\n\ttab",
                "héllo wörld – naïve café", "日本語のテキスト", "emoji 🙂👍🏽 and \u0000 nul", "The quick brown fox."}) {
            long[] ids = tok.encode(s);
            assertEquals(s, tok.decode(ids), "round trip of " + s);
            for (long id : ids) assertTrue(id >= 0 && id < 256 + TinyTokenizerWriter.MERGES, "plain text uses byte and merge ids only: " + id);
        }
    }

    @Test
    void mergesShortenCommonWords() {
        // A byte-level tokenizer without merges would give one id per byte.
        String s = "the the the assistant answers the question";
        assertTrue(tok.encode(s).length < s.length() / 2, "merges should apply: " + Arrays.toString(tok.encode(s)));
    }

    @Test
    void specialTokensAreSingleIdsMatchingTokenizerJson() throws IOException {
        for (String special : TinyTokenizerWriter.SPECIAL_TOKENS) {
            assertArrayEquals(new long[] {TinyTokenizerFixture.addedTokenId(dir, special)}, tok.encode(special), special);
        }
        long imStart = TinyTokenizerFixture.addedTokenId(dir, "<|im_start|>");
        long imEnd = TinyTokenizerFixture.addedTokenId(dir, "<|im_end|>");
        long[] ids = tok.encode("<|im_start|>user\nhi<|im_end|>");
        assertEquals(imStart, ids[0]);
        assertEquals(imEnd, ids[ids.length - 1]);
        assertEquals("<|im_start|>user\nhi<|im_end|>", tok.decode(ids));
        assertEquals("user\nhi", tok.decode(ids, true));
    }

    @Test
    void idsComeFromTokenizerConfig() throws IOException {
        assertEquals(TinyTokenizerFixture.addedTokenId(dir, "<s>"), tok.bosId().orElseThrow());
        assertEquals(TinyTokenizerFixture.addedTokenId(dir, "</s>"), tok.eosId());
        assertEquals(TinyTokenizerFixture.addedTokenId(dir, "<pad>"), tok.padId());
        assertTrue(tok.addsBos());
        assertArrayEquals(new long[] {tok.eosId()}, tok.stopIds());
        assertEquals(TinyTokenizerWriter.CHATML_JINJA, tok.chatTemplate().orElseThrow());
    }

    @Test
    void encodeNeverAddsBosThoughThePostProcessorWould() throws IOException {
        long bos = tok.bosId().orElseThrow();
        long[] ours = tok.encode("Hello there");
        assertTrue(LongStream.of(ours).noneMatch(id -> id == bos), Arrays.toString(ours));
        // The same tokenizer.json asked for special tokens prepends BOS: the check above is not vacuous.
        try (HuggingFaceTokenizer raw = HuggingFaceTokenizer.builder().optTokenizerPath(dir.resolve("tokenizer.json")).build()) {
            long[] withSpecials = raw.encode("Hello there", true, false).getIds();
            assertEquals(bos, withSpecials[0]);
            assertArrayEquals(ours, Arrays.copyOfRange(withSpecials, 1, withSpecials.length));
        }
    }

    @Test
    void writerIsDeterministicAndVocabularyIsConsistent(@TempDir Path other) throws IOException {
        TinyTokenizerWriter.write(other);
        assertArrayEquals(Files.readAllBytes(dir.resolve("tokenizer.json")), Files.readAllBytes(other.resolve("tokenizer.json")));
        assertArrayEquals(Files.readAllBytes(dir.resolve("tokenizer_config.json")), Files.readAllBytes(other.resolve("tokenizer_config.json")));

        var model = Json.read(dir.resolve("tokenizer.json")).required("model");
        var vocab = model.required("vocab");
        Set<Long> ids = new HashSet<>();
        for (var v : vocab) ids.add(v.longValue());
        assertEquals(vocab.size(), ids.size(), "vocab ids are unique");
        for (var m : model.required("merges")) {
            String[] pair = m.textValue().split(" ");
            assertTrue(vocab.has(pair[0]) && vocab.has(pair[1]) && vocab.has(pair[0] + pair[1]), "merge " + m);
        }
        int total = vocab.size() + TinyTokenizerWriter.SPECIAL_TOKENS.size();
        assertTrue(total >= 256 && total <= 512, "vocab size " + total);
        assertEquals(total - 1, TinyTokenizerFixture.addedTokenId(dir, TinyTokenizerWriter.SPECIAL_TOKENS.getLast()));
        assertFalse(vocab.has("<s>"), "special tokens live in added_tokens only");
    }
}
