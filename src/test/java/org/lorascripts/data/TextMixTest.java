package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.data.TextDataFiles.write;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.MixStrategy;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.TinyTokenizerFixture;

/** Several datasets (train_data): per-file format detection, the mix, the per-dataset validation split. */
class TextMixTest {
    @TempDir static Path tokDir;
    static HfTokenizer tok;

    @TempDir Path data;

    @BeforeAll
    static void load() throws IOException { tok = TinyTokenizerFixture.load(tokDir, Map.of()); }

    @AfterAll
    static void close() { tok.close(); }

    /** alpaca's data.json with 3 examples and a messages .jsonl with 5. */
    private List<Path> twoFormats() throws IOException {
        Path alpaca = write(data, "alpaca.json", "[",
                "{\"instruction\": \"Say a\", \"input\": \"\", \"output\": \"a0\"},",
                "{\"instruction\": \"Say a\", \"input\": \"\", \"output\": \"a1\"},",
                "{\"instruction\": \"Say a\", \"input\": \"\", \"output\": \"a2\"}", "]");
        String[] chat = new String[5];
        for (int i = 0; i < 5; i++) {
            chat[i] = "{\"messages\": [{\"role\": \"user\", \"content\": \"Say b\"}, {\"role\": \"assistant\", \"content\": \"b" + i + "\"}]}";
        }
        return List.of(alpaca, write(data, "chat.jsonl", chat));
    }

    private static String who(TextRecord r) {
        return switch (r) {
            case TextRecord.Alpaca a -> "alpaca:" + a.output();
            case TextRecord.Chat c -> "chat:" + c.messages().getLast().content();
            default -> r.toString();
        };
    }

    @Test void eachFileKeepsItsFormatAndTheMixFollowsTheStrategy() throws IOException {
        List<Path> files = twoFormats();
        TextDataOptions o = TextDataOptions.of(512);
        assertEquals(List.of("alpaca:a0", "alpaca:a1", "alpaca:a2", "chat:b0", "chat:b1", "chat:b2", "chat:b3", "chat:b4"),
                TextMix.read(files, o).train().stream().map(TextMixTest::who).toList());
        // round-robin, as interleave_datasets without probabilities
        assertEquals(List.of("alpaca:a0", "chat:b0", "alpaca:a1", "chat:b1", "alpaca:a2", "chat:b2"),
                TextMix.read(files, o.withMix(MixStrategy.INTERLEAVE_UNDER, List.of())).train().stream().map(TextMixTest::who).toList());
        TextMix over = TextMix.read(files, o.withMix(MixStrategy.INTERLEAVE_OVER, List.of()));
        assertEquals(List.of("alpaca:a0", "chat:b0", "alpaca:a1", "chat:b1", "alpaca:a2", "chat:b2", "alpaca:a0", "chat:b3",
                "alpaca:a1", "chat:b4"), over.train().stream().map(TextMixTest::who).toList());
        assertEquals(List.of(
                "dataset 0: " + files.get(0) + ": 3 training examples, 5 in the mix",
                "dataset 1: " + files.get(1) + ": 5 training examples, 5 in the mix",
                "mixed (interleave_over): 10 training examples per epoch"), over.describe());

        // tokenised as each format trains: the alpaca rows and the chat rows keep their own loss masks
        TextDataSplit split = TextDataset.load(files, o.withMix(MixStrategy.INTERLEAVE_UNDER, List.of()), tok);
        assertEquals(6, split.train().size(), split.warnings().toString());
        TextDataSplit alone = TextDataset.load(files.get(1), o, tok);
        assertArrayEquals(alone.train().example(0).inputIds(), split.train().example(1).inputIds());
        assertArrayEquals(alone.train().example(0).labels(), split.train().example(1).labels());
        assertEquals(3, split.mixSummary().size());
    }

    @Test void withProbabilitiesTheMixIsSeeded() throws IOException {
        List<Path> files = twoFormats();
        TextDataOptions o = TextDataOptions.of(64).withValRatio(0, 5).withMix(MixStrategy.INTERLEAVE_UNDER, List.of(0.5, 0.5));
        List<String> a = TextMix.read(files, o).train().stream().map(TextMixTest::who).toList();
        assertEquals(a, TextMix.read(files, o).train().stream().map(TextMixTest::who).toList());
        String last = a.getLast();
        assertTrue(last.equals("alpaca:a2") || last.equals("chat:b4"), "under ends on a dataset's last row: " + a);
    }

    @Test void validationIsSplitPerDatasetBeforeMixing() throws IOException {
        List<Path> files = twoFormats();
        TextMix m = TextMix.read(files, TextDataOptions.of(64).withValRatio(0.34, 9).withMix(MixStrategy.INTERLEAVE_OVER, List.of()));
        // round(3 * 0.34) = 1 and round(5 * 0.34) = 2 held out, as TrainValSplit splits one dataset
        assertEquals(3, m.val().size());
        assertEquals(List.of(2, 3), List.of(m.perDataset()[0], m.perDataset()[1]));
        Set<String> val = new HashSet<>(m.val().stream().map(TextMixTest::who).toList());
        for (TextRecord r : m.train()) assertTrue(!val.contains(who(r)), "a validation example is also trained on: " + who(r));
        assertEquals(6, m.train().size());   // round-robin over: max(2, 3) rounds of 2
        assertTrue(m.describe().getLast().endsWith("6 training examples per epoch, 3 validation"), m.describe().getLast());
    }

    @Test void aMissingDatasetIsNamedByItsPlace() throws IOException {
        List<Path> files = twoFormats();
        Path missing = data.resolve("nope.jsonl");
        DatasetException e = assertThrows(DatasetException.class,
                () -> TextMix.read(List.of(files.get(0), missing), TextDataOptions.of(64)));
        assertEquals("train_data[1] " + missing + " does not exist; put the training data there or fix the path"
                + " (relative paths are relative to the config file)", e.getMessage());
    }
}
