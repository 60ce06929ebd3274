package org.lorascripts.data;

import java.util.List;
import org.lorascripts.tensor.Tensor;

/**
 * A batch of text rows on the CPU. Without packing: rows padded on the right to the longest in
 * the batch, {@code attentionMask} true on real tokens, {@code positionIds} null. With packing:
 * every row is max_seq_len long with no padding, {@code attentionMask} null, and
 * {@code positionIds} restarting at each of the row's {@code sequenceStarts}.
 *
 * @param inputIds      (B, T) int64
 * @param labels        (B, T) int64, {@link TokenizedExample#IGNORE} where no loss is taken
 * @param attentionMask (B, T) bool, or null when packed
 * @param positionIds   (B, T) int64, or null when not packed (positions are 0..T-1)
 * @param sequenceStarts per row, the offsets where an example starts (packed), else {0}
 * @param targetTokens  number of labels != IGNORE, for normalising the loss
 */
public record TextBatch(Tensor inputIds, Tensor labels, Tensor attentionMask, Tensor positionIds,
                        List<int[]> sequenceStarts, int targetTokens) implements AutoCloseable {
    public int batchSize() { return sequenceStarts.size(); }

    public boolean packed() { return positionIds != null; }

    @Override public void close() {
        inputIds.close();
        labels.close();
        if (attentionMask != null) attentionMask.close();
        if (positionIds != null) positionIds.close();
    }
}
