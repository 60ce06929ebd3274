package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.data.TextDataFiles.IGNORE;
import static org.lorascripts.data.TextDataFiles.write;

import com.fasterxml.jackson.databind.node.NullNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.text.HfTokenizer;
import org.lorascripts.text.TinyTokenizerFixture;

/** Padded batches (pad == eos, the classic masking bug), target counts and truncation. */
class TextDatasetBatchTest {
    @TempDir static Path tokDir;
    static HfTokenizer tok;
    static long eos;

    @TempDir Path data;

    @BeforeAll
    static void load() throws IOException {
        // Llama-style: no pad token, so padding uses the EOS id.
        tok = TinyTokenizerFixture.load(tokDir, Map.of("pad_token", NullNode.instance));
        eos = TinyTokenizerFixture.addedTokenId(tokDir, "</s>");
    }

    @AfterAll
    static void close() { tok.close(); }

    @Test
    void eosStaysATargetWhenPadIsEos() throws IOException {
        assertEquals(eos, tok.padId());
        Path f = write(data, "a.jsonl", "{\"prompt\": \"Q\", \"completion\": \" A\"}",
                "{\"prompt\": \"A much longer question here\", \"completion\": \" and a longer answer too\"}");
        TextDataset ds = TextDataset.load(f, TextDataOptions.of(512), tok).train();
        TokenizedExample shortEx = ds.example(0), longEx = ds.example(1);
        int t = longEx.length();
        assertTrue(shortEx.length() < t);
        try (Scope s = Scope.open(); TextBatch b = ds.collate(new int[] {0, 1})) {
            assertArrayEquals(new long[] {2, t}, b.inputIds().shape());
            assertEquals(DType.I64, b.inputIds().dtype());
            assertEquals(DType.I64, b.labels().dtype());
            assertEquals(DType.BOOL, b.attentionMask().dtype());
            assertNull(b.positionIds());
            long[] ids = b.inputIds().toLongArray(), labels = b.labels().toLongArray();
            boolean[] mask = b.attentionMask().toBooleanArray();

            long[] row0 = Arrays.copyOfRange(ids, 0, t), lab0 = Arrays.copyOfRange(labels, 0, t);
            int n = shortEx.length();
            assertArrayEquals(shortEx.inputIds(), Arrays.copyOf(row0, n));
            for (int i = n; i < t; i++) {
                assertEquals(eos, row0[i], "padding uses the pad id, here = eos");
                assertEquals(IGNORE, lab0[i], "padding is not a target");
                assertTrue(!mask[i]);
            }
            assertEquals(eos, lab0[n - 1], "the real EOS keeps its label although pad == eos");
            assertEquals(1, Arrays.stream(lab0).filter(l -> l == eos).count());
            assertTrue(mask[n - 1]);
            assertArrayEquals(longEx.inputIds(), Arrays.copyOfRange(ids, t, 2 * t));
            assertArrayEquals(longEx.labels(), Arrays.copyOfRange(labels, t, 2 * t));
            for (int i = t; i < 2 * t; i++) assertTrue(mask[i]);

            int expectedTargets = (int) Arrays.stream(labels).filter(l -> l != IGNORE).count();
            assertEquals(expectedTargets, b.targetTokens());
            assertEquals(expectedTargets, ds.targetTokenCount(new int[] {0, 1}));
            assertEquals(tok.encode(" A").length + 1, ds.targetTokenCount(new int[] {0}), "answer + EOS");
            assertEquals(List.of(0), Arrays.stream(b.sequenceStarts().get(1)).boxed().toList());
        }
    }

    @Test
    void longExamplesAreTruncatedKeepingTheStartAndCounted() throws IOException {
        String longA = "The quick brown fox jumps over the lazy dog again and again";
        String longB = "Hello, world! How are you today? I am fine, thank you.";
        Path f = write(data, "a.txt", longA, "short", longB);
        int max = 8;
        TextDataSplit split = TextDataset.load(f, TextDataOptions.of(max), tok);
        TextDataset ds = split.train();
        for (int i : new int[] {0, 2}) {
            String text = i == 0 ? longA : longB;
            long[] full = TextDataFiles.cat(TextDataFiles.one(tok.bosId().orElseThrow()), tok.encode(text), TextDataFiles.one(eos));
            assertTrue(full.length > max);
            assertArrayEquals(Arrays.copyOf(full, max), ds.example(i).inputIds());
        }
        assertTrue(ds.example(1).length() <= max);
        List<ConfigWarning> w = split.warnings();
        assertEquals(1, w.size(), w.toString());
        assertEquals("max_seq_len", w.getFirst().key());
        assertTrue(w.getFirst().message().startsWith("2 of 3 training examples are longer than max_seq_len 8 tokens"), w.toString());
    }

    @Test
    void examplesWithNoAnswerLeftAfterTruncationAreSkipped() throws IOException {
        Path f = write(data, "a.jsonl", "{\"prompt\": \"a very long prompt that fills all of the space\", \"completion\": \" x\"}",
                "{\"prompt\": \"Q\", \"completion\": \" A\"}");
        TextDataSplit split = TextDataset.load(f, TextDataOptions.of(6), tok);
        assertEquals(1, split.train().size());
        assertTrue(split.warnings().stream().anyMatch(w -> w.message().startsWith("1 training examples were skipped")), split.warnings().toString());
    }
}
