package org.lorascripts.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lorascripts.tensor.Torch;
import org.lorascripts.text.HfTokenizer;

/**
 * Tokenised text examples ready for batching: either one row per example (padded per batch by
 * {@link #collate}) or, with packing, fixed-length rows of several examples. Indices passed to
 * {@link #collate} and {@link #targetTokenCount} address rows: examples, or packed sequences.
 */
public final class TextDataset {
    private final List<TokenizedExample> examples;
    private final List<PackedSequence> sequences;
    private final long padId;

    private TextDataset(List<TokenizedExample> examples, List<PackedSequence> sequences, long padId) {
        this.examples = examples;
        this.sequences = sequences;
        this.padId = padId;
    }

    /** Rows of one example each, padded with {@code padId} when batched. */
    public static TextDataset ofExamples(List<TokenizedExample> examples, long padId) {
        return new TextDataset(List.copyOf(examples), null, padId);
    }

    /** Packed rows (all the same length; never padded). */
    public static TextDataset ofPacked(List<PackedSequence> sequences) {
        return new TextDataset(null, List.copyOf(sequences), 0);
    }

    /**
     * Reads, tokenises and (optionally) packs the training data and the validation data; see
     * {@link TextDatasetLoader}.
     */
    public static TextDataSplit load(Path trainData, TextDataOptions options, HfTokenizer tokenizer) {
        return TextDatasetLoader.load(List.of(trainData), options, tokenizer);
    }

    /** Several datasets (train_data), each read on its own and mixed by the options' mix_strategy. */
    public static TextDataSplit load(List<Path> trainData, TextDataOptions options, HfTokenizer tokenizer) {
        return TextDatasetLoader.load(trainData, options, tokenizer);
    }

    /**
     * An example longer than max_seq_len as an unpacked run trains it: the first {@code maxSeqLen}
     * tokens (the start kept, the rest dropped); shorter examples unchanged.
     */
    public static TokenizedExample truncate(TokenizedExample e, int maxSeqLen) {
        if (e.length() <= maxSeqLen) return e;
        return new TokenizedExample(Arrays.copyOf(e.inputIds(), maxSeqLen), Arrays.copyOf(e.labels(), maxSeqLen));
    }

    public int size() { return packed() ? sequences.size() : examples.size(); }

    public boolean packed() { return sequences != null; }

    public TokenizedExample example(int i) {
        if (packed()) throw new IllegalStateException("dataset is packed; use sequence(i)");
        return examples.get(i);
    }

    public PackedSequence sequence(int i) {
        if (!packed()) throw new IllegalStateException("dataset is not packed; use example(i)");
        return sequences.get(i);
    }

    /** Labels that are trained on across these rows: the divisor of a token-mean loss. */
    public int targetTokenCount(int[] indices) {
        int n = 0;
        for (int i : indices) n += packed() ? sequences.get(i).targetCount() : examples.get(i).targetCount();
        return n;
    }

    /** Total tokens in all rows (for throughput and epoch-size reporting). */
    public long tokenCount() {
        long n = 0;
        for (int i = 0; i < size(); i++) n += packed() ? sequences.get(i).length() : examples.get(i).length();
        return n;
    }

    /** The rows at {@code indices} as CPU tensors; see {@link TextBatch} for the layout. */
    public TextBatch collate(int[] indices) {
        if (indices.length == 0) throw new IllegalArgumentException("cannot collate an empty batch");
        int b = indices.length;
        int t = 0;
        for (int i : indices) t = Math.max(t, packed() ? sequences.get(i).length() : examples.get(i).length());
        long[] ids = new long[b * t];
        long[] labels = new long[b * t];
        List<int[]> starts = new ArrayList<>(b);
        if (packed()) {
            long[] positions = new long[b * t];
            for (int r = 0; r < b; r++) {
                PackedSequence s = sequences.get(indices[r]);
                System.arraycopy(s.inputIds(), 0, ids, r * t, t);
                System.arraycopy(s.labels(), 0, labels, r * t, t);
                System.arraycopy(s.positionIds(), 0, positions, r * t, t);
                starts.add(s.sequenceStarts().clone());
            }
            return new TextBatch(Torch.of(ids, b, t), Torch.of(labels, b, t), null, Torch.of(positions, b, t),
                    List.copyOf(starts), targetTokenCount(indices));
        }
        boolean[] mask = new boolean[b * t];
        // Padding is masked by position (past the row's length), never by comparing with padId:
        // with pad == eos, an id test would also mask the real EOS that ends each example.
        Arrays.fill(labels, TokenizedExample.IGNORE);
        Arrays.fill(ids, padId);
        for (int r = 0; r < b; r++) {
            TokenizedExample e = examples.get(indices[r]);
            System.arraycopy(e.inputIds(), 0, ids, r * t, e.length());
            System.arraycopy(e.labels(), 0, labels, r * t, e.length());
            Arrays.fill(mask, r * t, r * t + e.length(), true);
            starts.add(new int[] {0});
        }
        return new TextBatch(Torch.of(ids, b, t), Torch.of(labels, b, t), Torch.of(mask, b, t), null,
                List.copyOf(starts), targetTokenCount(indices));
    }
}
