package org.lorascripts.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.lorascripts.io.Json;
import org.lorascripts.models.llm.TinyLlamaBuiltin;
import org.lorascripts.text.BpeDropoutEncoder;
import org.lorascripts.text.HfTokenizer;

/** The seeded BPE-dropout encoder equals the tokenizers library without dropout, and splits words with it. */
class BpeDropoutEncoderTest {
    @Test void withoutDropoutItIsTheTokenizersEncodingAndWithDropoutTheSameTextInMorePieces() throws Exception {
        Path dir = TinyLlamaBuiltin.ensureCached();
        BpeDropoutEncoder enc = BpeDropoutEncoder.of(Json.read(dir.resolve("tokenizer.json")));
        List<String> texts = new ArrayList<>(List.of("To brew green tea, use water at 80 degrees Celsius!", "Ünïcödé, tabs\tand  spaces.\n"));
        for (int i = 0; i < 50; i++) texts.add(TextCorpus.paragraph(5, i));
        try (HfTokenizer tok = HfTokenizer.load(dir)) {
            long plain = 0, dropped = 0;
            for (String t : texts) {
                long[] ids = enc.encode(t, 0, new SplittableRandom(1));
                assertArrayEquals(tok.encode(t), ids, t);
                long[] d = enc.encode(t, 0.1, new SplittableRandom(1));
                assertArrayEquals(d, enc.encode(t, 0.1, new SplittableRandom(1)), "seeded");
                assertEquals(t, tok.decode(d), "dropout changes the pieces, not the text");
                plain += ids.length;
                dropped += d.length;
            }
            assertTrue(dropped > plain * 1.1, "dropout splits words: " + plain + " -> " + dropped + " tokens");
        }
    }
}
