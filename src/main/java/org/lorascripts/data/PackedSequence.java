package org.lorascripts.data;

/**
 * Several examples concatenated into one row of exactly {@code max_seq_len} tokens.
 * {@code positionIds} restart at 0 at every entry of {@code sequenceStarts} (the first token of
 * an example, or of the part of a long example that continues from the previous row), so
 * rotary embeddings see each example as if it stood alone. The model side keeps attention
 * inside each example by building a block-diagonal causal mask from {@code sequenceStarts}
 * (or, equivalently, by treating a position id of 0 as the start of a new document, as
 * flash-attention's varlen kernels and HF's {@code DataCollatorWithFlattening} do). The label at
 * each start is {@link TokenizedExample#IGNORE}: predicting it from the previous example's end
 * would teach nothing.
 */
public record PackedSequence(long[] inputIds, long[] labels, long[] positionIds, int[] sequenceStarts) {
    public int length() { return inputIds.length; }

    public int targetCount() {
        int n = 0;
        for (long l : labels) if (l != TokenizedExample.IGNORE) n++;
        return n;
    }
}
