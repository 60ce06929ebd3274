package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.data.TextDataFiles.IGNORE;
import static org.lorascripts.data.TextDataFiles.write;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.Scope;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.TinyTokenizerFixture;

/** Packed rows: exact length, no padding, position ids restarting per example, boundaries. */
class PackingTest {
    @TempDir static Path tokDir;
    static HfTokenizer tok;

    @TempDir Path data;

    @BeforeAll
    static void load() throws IOException { tok = TinyTokenizerFixture.load(tokDir, Map.of()); }

    @AfterAll
    static void close() { tok.close(); }

    private static TokenizedExample example(long first, int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) ids[i] = first + i;
        long[] labels = ids.clone();
        labels[0] = IGNORE;
        return new TokenizedExample(ids, labels);
    }

    @Test
    void handMadeLayout() {
        // Lengths 5, 7, 6 into rows of 8: [a0..a4 b0 b1 b2] [b3..b6 c0..c3], c4 c5 left over.
        SequencePacker.Result r = SequencePacker.pack(List.of(example(100, 5), example(200, 7), example(300, 6)), 8);
        assertEquals(2, r.sequences().size());
        assertEquals(2, r.droppedTokens());
        PackedSequence row0 = r.sequences().get(0), row1 = r.sequences().get(1);
        assertArrayEquals(new long[] {100, 101, 102, 103, 104, 200, 201, 202}, row0.inputIds());
        assertArrayEquals(new long[] {203, 204, 205, 206, 300, 301, 302, 303}, row1.inputIds());
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 0, 1, 2}, row0.positionIds());
        assertArrayEquals(new long[] {0, 1, 2, 3, 0, 1, 2, 3}, row1.positionIds());
        assertArrayEquals(new int[] {0, 5}, row0.sequenceStarts());
        assertArrayEquals(new int[] {0, 4}, row1.sequenceStarts());
        assertArrayEquals(new long[] {IGNORE, 101, 102, 103, 104, IGNORE, 201, 202}, row0.labels());
        assertArrayEquals(new long[] {IGNORE, 204, 205, 206, IGNORE, 301, 302, 303}, row1.labels(),
                "a continued example's first token in a new row has nothing before it to predict it from");
    }

    @Test
    void packedDatasetKeepsEveryTokenInOrderWithoutPadding() throws IOException {
        String[] lines = {"Hello world", "The quick brown fox jumps over the lazy dog", "short", "What is the capital of France?",
                "Paris", "Training with low-rank adapters changes only a few weights"};
        Path f = write(data, "a.txt", lines);
        int max = 16;
        TextDataSplit split = TextDataset.load(f, TextDataOptions.of(max).withPacking(true), tok);
        TextDataset ds = split.train();
        assertTrue(ds.packed());

        long bos = tok.bosId().orElseThrow(), eos = tok.eosId();
        long[] stream = new long[0];
        List<Integer> exampleLengths = new java.util.ArrayList<>();
        for (String l : lines) {
            long[] e = TextDataFiles.cat(TextDataFiles.one(bos), tok.encode(l), TextDataFiles.one(eos));
            stream = TextDataFiles.cat(stream, e);
            exampleLengths.add(e.length);
        }
        assertEquals(stream.length / max, ds.size());
        long[] packed = new long[0];
        for (int i = 0; i < ds.size(); i++) {
            PackedSequence s = ds.sequence(i);
            assertEquals(max, s.length());
            packed = TextDataFiles.cat(packed, s.inputIds());
            for (int p = 0; p < max; p++) {
                int at = p;
                boolean start = Arrays.stream(s.sequenceStarts()).anyMatch(x -> x == at);
                assertEquals(start, s.positionIds()[p] == 0, "row " + i + " position " + p);
                if (!start) assertEquals(s.positionIds()[p - 1] + 1, s.positionIds()[p]);
                if (start) assertEquals(IGNORE, s.labels()[p]);
                else assertEquals(s.inputIds()[p], s.labels()[p], "plain text: every other token is a target");
            }
        }
        assertArrayEquals(Arrays.copyOf(stream, packed.length), packed, "rows are the examples end to end, no padding");
        String expected = "packing left out the last " + (stream.length - packed.length) + " of " + stream.length;
        assertTrue(split.warnings().stream().anyMatch(w -> w.key().equals("packing") && w.message().startsWith(expected)),
                split.warnings().toString());

        // Example boundaries in the first row follow the example lengths.
        int first = exampleLengths.getFirst();
        assertArrayEquals(new int[] {0, first}, Arrays.copyOf(ds.sequence(0).sequenceStarts(), 2));

        try (Scope s = Scope.open(); TextBatch b = ds.collate(new int[] {1, 0})) {
            assertArrayEquals(new long[] {2, max}, b.inputIds().shape());
            assertNull(b.attentionMask());
            assertTrue(b.packed());
            assertArrayEquals(TextDataFiles.cat(ds.sequence(1).positionIds(), ds.sequence(0).positionIds()), b.positionIds().toLongArray());
            assertArrayEquals(TextDataFiles.cat(ds.sequence(1).labels(), ds.sequence(0).labels()), b.labels().toLongArray());
            assertArrayEquals(ds.sequence(1).sequenceStarts(), b.sequenceStarts().get(0));
            assertEquals(ds.sequence(0).targetCount() + ds.sequence(1).targetCount(), b.targetTokens());
        }
    }

    @Test
    void tooLittleDataForOneRowIsAnError() throws IOException {
        Path f = write(data, "a.txt", "hi");
        var e = assertThrows(DatasetException.class, () -> TextDataset.load(f, TextDataOptions.of(512).withPacking(true), tok));
        assertTrue(e.getMessage().contains("fewer than max_seq_len 512"), e.getMessage());
    }
}
