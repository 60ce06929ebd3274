package org.lorascripts.text.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;

/** Loading a diffusers folder's tokenizer/vocab.json + merges.txt, and its pad token. */
class ClipTokenizerFolderTest {
    @TempDir Path dir;

    private static final String BOS = "<|startoftext|>";
    private static final String EOS = "<|endoftext|>";

    /** A tiny CLIP-style vocabulary: a few byte symbols, merges for "cat", and the two specials. */
    private Path tinyTokenizer(Path model, String sub, List<String> merges, Map<String, ?> config) throws IOException {
        Path tok = Files.createDirectories(model.resolve(sub));
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (String t : List.of("!", "c", "a", "t", "c</w>", "a</w>", "t</w>", "ca", "cat</w>", BOS, EOS)) vocab.put(t, vocab.size());
        Files.writeString(tok.resolve("vocab.json"), Json.write(Json.object(vocab)), StandardCharsets.UTF_8);
        Files.writeString(tok.resolve("merges.txt"), "#version: 0.2\n" + String.join("\n", merges) + "\n", StandardCharsets.UTF_8);
        if (config != null) {
            Files.writeString(tok.resolve("tokenizer_config.json"), Json.write(Json.object(config)));
        }
        return model;
    }

    @Test
    void folderFilesWinOverTheBundledMerges() throws Exception {
        Path model = tinyTokenizer(dir.resolve("m"), "tokenizer", List.of("c a", "ca t</w>"), null);
        ClipTokenizer tok = ClipTokenizer.fromDiffusersFolder(model);
        assertEquals(11, tok.vocabSize());
        assertEquals(9, tok.startOfTextId());
        assertEquals(10, tok.endOfTextId());
        assertEquals(10, tok.padId());
        assertArrayEquals(new int[] {8, 8}, tok.encode("cat CAT"));
        assertArrayEquals(new int[] {2, 6}, tok.encode("at"), "no merge for a+t</w>: two symbols");
        assertArrayEquals(new int[] {9, 8, 10, 10}, tok.encodeForModel("cat", 4, tok.padId()));
        assertEquals("cat cat", tok.decode(tok.encode("cat cat")));
    }

    @Test
    void mergeOrderDecidesWhichPairMergesFirst() throws Exception {
        // With "a t</w>" ranked first, "cat" splits as c + at</w>, which this vocab lacks: HF's unk (EOS).
        Path model = tinyTokenizer(dir.resolve("m"), "tokenizer", List.of("a t</w>", "c a", "ca t</w>"), null);
        int[] ids = ClipTokenizer.fromDiffusersFolder(model).encode("cat");
        assertArrayEquals(new int[] {1, 10}, ids);
    }

    @Test
    void padTokenComesFromTheTokenizerConfig() throws Exception {
        Path model = tinyTokenizer(dir.resolve("sd2"), "tokenizer", List.of("c a", "ca t</w>"),
                Map.of("pad_token", "!"));
        ClipTokenizer tok = ClipTokenizer.fromDiffusersFolder(model);
        assertEquals(0, tok.padId());
        assertArrayEquals(new int[] {9, 8, 10, 0, 0}, tok.encodeForModel("cat", 5, tok.padId()));

        // transformers also writes the token as an object with "content".
        Path model2 = tinyTokenizer(dir.resolve("sdxl"), "tokenizer_2", List.of("c a"),
                Map.of("pad_token", Json.object("content", "!", "lstrip", false)));
        assertEquals(0, ClipTokenizer.fromDiffusersFolder(model2, "tokenizer_2").padId());
    }

    @Test
    void withoutVocabFilesTheBundledMergesAreUsedWithTheFolderPad() throws Exception {
        assertSame(ClipTokenizer.bundled(), ClipTokenizer.fromDiffusersFolder(dir), "nothing there at all");
        Path tok = Files.createDirectories(dir.resolve("sd2/tokenizer"));
        Files.writeString(tok.resolve("special_tokens_map.json"), "{\"pad_token\": \"!\", \"eos_token\": \"<|endoftext|>\"}");
        ClipTokenizer sd2 = ClipTokenizer.fromDiffusersFolder(dir.resolve("sd2"));
        assertEquals(49408, sd2.vocabSize());
        assertEquals(0, sd2.padId());
    }

    @Test
    void fullVocabularyWrittenAsFilesEncodesLikeTheBundledOne() throws Exception {
        ClipTokenizer bundled = ClipTokenizer.bundled();
        Map<String, Integer> vocab = new LinkedHashMap<>();
        for (int id = 0; id < bundled.vocabSize(); id++) vocab.put(bundled.token(id), id);
        Path tok = Files.createDirectories(dir.resolve("sd15/tokenizer"));
        Files.writeString(tok.resolve("vocab.json"), Json.write(Json.object(vocab)));
        // The merges in rank order, as the merged token of each id after the 512 byte symbols.
        StringBuilder merges = new StringBuilder("#version: 0.2\n");
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(new java.util.zip.GZIPInputStream(
                getClass().getResourceAsStream("/clip/bpe_simple_vocab_16e6.txt.gz")), StandardCharsets.UTF_8))) {
            in.readLine();
            for (int i = 0; i < 48894; i++) merges.append(in.readLine()).append('\n');
        }
        Files.writeString(tok.resolve("merges.txt"), merges);
        ClipTokenizer fromFiles = ClipTokenizer.fromDiffusersFolder(dir.resolve("sd15"));
        for (var c : ClipReferenceCases.load().cases()) {
            assertArrayEquals(c.ids(), fromFiles.encode(c.text()), c.text());
        }
    }

    @Test
    void brokenFilesFailWithTheFileAndTheProblem() throws Exception {
        Path model = tinyTokenizer(dir.resolve("bad"), "tokenizer", List.of("c a", "this line has three"), null);
        var e = assertThrows(IOException.class, () -> ClipTokenizer.fromDiffusersFolder(model));
        assertTrue(e.getMessage().contains("merges.txt") && e.getMessage().contains("line 3"), e.getMessage());

        Path tok = model.resolve("tokenizer");
        Files.writeString(tok.resolve("merges.txt"), "#version: 0.2\nc a\n");
        Files.writeString(tok.resolve("vocab.json"), "{\"a\": 0, \"b\": 0, \"<|startoftext|>\": 1, \"<|endoftext|>\": 2}");
        e = assertThrows(IOException.class, () -> ClipTokenizer.fromDiffusersFolder(model));
        assertTrue(e.getMessage().contains("id 0"), e.getMessage());

        Files.writeString(tok.resolve("vocab.json"), "{\"a\": 0, \"<|startoftext|>\": 1, \"<|endoftext|>\": 2}");
        Files.writeString(tok.resolve("tokenizer_config.json"), "{\"pad_token\": \"<pad>\"}");
        e = assertThrows(IOException.class, () -> ClipTokenizer.fromDiffusersFolder(model));
        assertTrue(e.getMessage().contains("<pad>"), e.getMessage());
    }
}
