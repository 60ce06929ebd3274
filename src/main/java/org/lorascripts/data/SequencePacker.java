package org.lorascripts.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Packs examples, each with its own BOS and EOS, end to end into rows of exactly
 * {@code maxSeqLen} tokens, with no padding (the "group texts" scheme of HF's run_clm, plus
 * per-example position ids and boundaries; see {@link PackedSequence}). An example that does not
 * fit in the rest of a row continues at the start of the next row. Tokens after the last full
 * row are dropped, and counted.
 */
public final class SequencePacker {
    /** The rows and the number of trailing tokens that did not fill a last row. */
    public record Result(List<PackedSequence> sequences, int droppedTokens) {}

    private SequencePacker() {}

    public static Result pack(List<TokenizedExample> examples, int maxSeqLen) {
        List<PackedSequence> rows = new ArrayList<>();
        Row row = new Row(maxSeqLen);
        for (TokenizedExample e : examples) {
            int from = 0;
            while (from < e.length()) {
                int n = Math.min(e.length() - from, maxSeqLen - row.size);
                row.append(e, from, n);
                from += n;
                if (row.size == maxSeqLen) {
                    rows.add(row.finish());
                    row = new Row(maxSeqLen);
                }
            }
        }
        return new Result(List.copyOf(rows), row.size);
    }

    private static final class Row {
        final long[] ids, labels, positions;
        final List<Integer> starts = new ArrayList<>();
        int size;

        Row(int length) {
            ids = new long[length];
            labels = new long[length];
            positions = new long[length];
        }

        /** Tokens [from, from + n) of {@code e}; they start a new document in this row. */
        void append(TokenizedExample e, int from, int n) {
            starts.add(size);
            System.arraycopy(e.inputIds(), from, ids, size, n);
            System.arraycopy(e.labels(), from, labels, size, n);
            labels[size] = TokenizedExample.IGNORE;
            for (int i = 0; i < n; i++) positions[size + i] = i;
            size += n;
        }

        PackedSequence finish() {
            return new PackedSequence(ids, labels, positions, starts.stream().mapToInt(Integer::intValue).toArray());
        }
    }

}
