package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.data.TextDataFiles.write;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.TinyTokenizerFixture;

/** Validation split by val_ratio (deterministic per seed) or from val_data_dir. */
class TextDatasetSplitTest {
    @TempDir static Path tokDir;
    static HfTokenizer tok;

    @TempDir Path data;

    @BeforeAll
    static void load() throws IOException { tok = TinyTokenizerFixture.load(tokDir, Map.of()); }

    @AfterAll
    static void close() { tok.close(); }

    private static List<String> texts(TextDataset ds) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < ds.size(); i++) out.add(tok.decode(ds.example(i).inputIds(), true));
        return out;
    }

    private Path twenty() throws IOException {
        String[] lines = new String[20];
        for (int i = 0; i < 20; i++) lines[i] = "example number " + i;
        return write(data, "a.txt", lines);
    }

    @Test
    void valRatioSplitIsDeterministicPerSeedAndDisjoint() throws IOException {
        Path f = twenty();
        TextDataSplit a = TextDataset.load(f, TextDataOptions.of(64).withValRatio(0.25, 7), tok);
        TextDataSplit again = TextDataset.load(f, TextDataOptions.of(64).withValRatio(0.25, 7), tok);
        TextDataSplit other = TextDataset.load(f, TextDataOptions.of(64).withValRatio(0.25, 8), tok);

        List<String> val = texts(a.val().orElseThrow()), train = texts(a.train());
        assertEquals(5, val.size());
        assertEquals(15, train.size());
        Set<String> all = new HashSet<>(val);
        all.addAll(train);
        assertEquals(20, all.size(), "every example is in exactly one of the two sets");
        assertEquals(val, texts(again.val().orElseThrow()));
        assertEquals(train, texts(again.train()));
        assertNotEquals(val, texts(other.val().orElseThrow()), "another seed picks another validation set");
        assertEquals(train, train.stream().sorted((x, y) -> Integer.compare(num(x), num(y))).toList(), "train keeps file order");
    }

    private static int num(String s) { return Integer.parseInt(s.substring(s.lastIndexOf(' ') + 1)); }

    @Test
    void noValidationByDefaultAndRatioThatLeavesNothingFails() throws IOException {
        Path f = write(data, "a.txt", "only one");
        assertFalse(TextDataset.load(f, TextDataOptions.of(64), tok).val().isPresent());
        var e = assertThrows(DatasetException.class, () -> TextDataset.load(f, TextDataOptions.of(64).withValRatio(0.1, 1), tok));
        assertTrue(e.getMessage().startsWith("val_ratio 0.1 leaves no training examples out of 1"), e.getMessage());
    }

    @Test
    void valDataDirIsReadSeparatelyAndNeverPacked() throws IOException {
        Path f = twenty();
        Path valDir = data.resolve("val");
        write(valDir, "v.txt", "held out one", "held out two");
        TextDataSplit s = TextDataset.load(f, TextDataOptions.of(16).withPacking(true).withValDataDir(valDir), tok);
        assertTrue(s.train().packed());
        TextDataset val = s.val().orElseThrow();
        assertFalse(val.packed());
        assertEquals(List.of("held out one", "held out two"), texts(val));
    }
}
