package org.lorascripts.data;

/**
 * One training example as token ids. {@code labels} is aligned with {@code inputIds} (the HF
 * convention: the loss shifts by one, so logits at position i are scored against labels[i+1]);
 * {@link #IGNORE} marks positions the loss skips: the prompt, BOS, padding, and position 0,
 * which nothing predicts. So the number of labels != IGNORE is exactly the number of tokens
 * the shifted loss averages over.
 */
public record TokenizedExample(long[] inputIds, long[] labels) {
    /** PyTorch's {@code CrossEntropyLoss(ignore_index=-100)} default. */
    public static final long IGNORE = -100;

    public TokenizedExample {
        if (inputIds.length != labels.length) {
            throw new IllegalArgumentException("inputIds has " + inputIds.length + " tokens but labels " + labels.length);
        }
    }

    public int length() { return inputIds.length; }

    /** Positions whose label is trained on. */
    public int targetCount() {
        int n = 0;
        for (long l : labels) if (l != IGNORE) n++;
        return n;
    }
}
