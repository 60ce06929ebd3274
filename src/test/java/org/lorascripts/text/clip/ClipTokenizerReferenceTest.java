package org.lorascripts.text.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Every output of ClipTokenizer against Hugging Face's CLIPTokenizer (and kohya's chunking on top of it). */
class ClipTokenizerReferenceTest {
    private static final ClipTokenizer SD1 = ClipTokenizer.bundled();
    private static final ClipTokenizer SD2 = ClipTokenizer.bundled().withPadId(ClipTokenizer.OPENCLIP_PAD_ID);

    private static Stream<ClipReferenceCases.Case> cases() throws Exception {
        return ClipReferenceCases.load().cases().stream();
    }

    private static String label(ClipReferenceCases.Case c) {
        String t = c.text().length() > 50 ? c.text().substring(0, 50) + "..." : c.text();
        return "\"" + t.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + "\"";
    }

    @Test
    void fixtureCoversEnoughPrompts() throws Exception {
        ClipReferenceCases ref = ClipReferenceCases.load();
        assertTrue(ref.cases().size() >= 30, "only " + ref.cases().size() + " reference prompts");
        assertTrue(ref.madeBy().contains("transformers"), ref.madeBy());
        // The long prompts must actually exercise truncation and the third chunk.
        assertTrue(ref.cases().stream().anyMatch(c -> c.ids().length > 225));
    }

    @TestFactory
    Stream<DynamicTest> encodeMatchesHuggingFace() throws Exception {
        return cases().map(c -> dynamicTest(label(c), () ->
                assertArrayEquals(c.ids(), SD1.encode(c.text()), () -> "got " + Arrays.toString(SD1.encode(c.text())))));
    }

    @TestFactory
    Stream<DynamicTest> encodeForModelMatchesBothPadConventions() throws Exception {
        return cases().map(c -> dynamicTest(label(c), () -> {
            assertArrayEquals(c.modelEos(), SD1.encodeForModel(c.text()));
            assertArrayEquals(c.modelZero(), SD2.encodeForModel(c.text()));
            if (!c.text().contains("!")) {
                // Padding alone: the SD 1.x tokenizer with pad 0 differs from SD 2.x's only where "!" is text.
                assertArrayEquals(c.modelZero(), SD1.encodeForModel(c.text(), 77, 0));
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> decodeMatchesHuggingFace() throws Exception {
        return cases().map(c -> dynamicTest(label(c), () -> assertEquals(c.decoded(), SD1.decode(c.ids()))));
    }

    @TestFactory
    Stream<DynamicTest> chunksMatchKohya() throws Exception {
        return cases().map(c -> dynamicTest(label(c), () -> {
            assertArrayEquals(c.chunks150Eos(), SD1.encodeChunks(c.text(), 150));
            assertArrayEquals(c.chunks150Zero(), SD2.encodeChunks(c.text(), 150));
            assertArrayEquals(c.chunks225Eos(), SD1.encodeChunks(c.text(), 225));
            assertArrayEquals(c.chunks225Zero(), SD2.encodeChunks(c.text(), 225));
        }));
    }

    /** Decoding loses case and spacing but not tokens: encoding the decoded text gives the same ids. */
    @TestFactory
    Stream<DynamicTest> decodedTextEncodesToTheSameIds() throws Exception {
        return cases().map(c -> dynamicTest(label(c), () ->
                assertArrayEquals(c.ids(), SD1.encode(SD1.decode(SD1.encode(c.text()))))));
    }
}
