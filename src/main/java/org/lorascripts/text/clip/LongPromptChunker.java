package org.lorascripts.text.clip;

/**
 * kohya sd-scripts' long prompts ({@code --max_token_length 150} or {@code 225}): the caption is
 * tokenized to {@code maxTokenLength + 2} ids (BOS, tokens, EOS, pads, truncated as usual) and cut
 * into windows of 75 tokens, each wrapped as its own 77-id sequence:
 * {@code chunk[k] = [BOS] + ids[1 + 75k .. 76 + 75k) + [ids[last]]}.
 * Reference: {@code TokenizeStrategy._get_input_ids} in {@code library/strategy_base.py}.
 *
 * <p>The last id of every chunk is the last id of the whole padded sequence: EOS when the caption
 * fills it, else the pad. With EOS padding (SD 1.x) every chunk therefore ends in EOS. With pad id
 * 0 (SD 2.x, SDXL) two fix-ups follow, applied in this order:
 * <ul>
 *   <li>a chunk whose id before the last is a real token (neither EOS nor pad), i.e. the caption
 *       runs through the chunk's end, gets EOS as its last id;</li>
 *   <li>a chunk that starts with a pad (the caption ended before it) gets EOS right after BOS:
 *       {@code [BOS, EOS, 0, 0, ...]}.</li>
 * </ul>
 *
 * <p>Shape contract for the text encoder: the chunks, {@code (n, 77)} with
 * {@code n = maxTokenLength / 75}, are encoded as a batch to hidden states {@code (n, 77, C)};
 * the states used for conditioning are the first chunk's BOS state, then positions 1..75 of every
 * chunk in order, then the last chunk's last state: {@code (n * 75 + 2, C)}, i.e. 152 or 227.
 * (kohya's SD 2.x branch also tries to copy a pad state over an empty chunk's EOS state, but it
 * compares ids with the EOS token's string, so it never fires; both conventions concatenate alike.)
 */
public final class LongPromptChunker {
    /** Tokens per chunk between BOS and the closing id. */
    public static final int CHUNK_TOKENS = ClipTokenizer.MODEL_MAX_LENGTH - 2;

    private LongPromptChunker() {}

    /**
     * The chunks of {@code text} for {@code maxTokenLength} (a positive multiple of 75; 75 is
     * kohya's default and gives one plain 77-id sequence), padded with the tokenizer's pad id.
     */
    public static int[][] chunks(ClipTokenizer tokenizer, String text, int maxTokenLength) {
        if (maxTokenLength <= 0 || maxTokenLength % CHUNK_TOKENS != 0) {
            throw new IllegalArgumentException("max_token_length must be 75, 150 or 225 (a multiple of 75), not " + maxTokenLength);
        }
        int maxLength = maxTokenLength + 2;
        int[] ids = tokenizer.encodeForModel(text, maxLength, tokenizer.padId());
        int n = maxTokenLength / CHUNK_TOKENS;
        if (n == 1) return new int[][] {ids};

        int eos = tokenizer.endOfTextId();
        int pad = tokenizer.padId();
        int[][] chunks = new int[n][];
        for (int k = 0; k < n; k++) {
            int[] c = new int[ClipTokenizer.MODEL_MAX_LENGTH];
            c[0] = ids[0];
            System.arraycopy(ids, 1 + k * CHUNK_TOKENS, c, 1, CHUNK_TOKENS);
            c[c.length - 1] = ids[ids.length - 1];
            // kohya tells SD 1.x from SD 2.x / SDXL by whether the pad is the EOS token.
            if (pad != eos) {
                int beforeLast = c[c.length - 2];
                if (beforeLast != eos && beforeLast != pad) c[c.length - 1] = eos;
                if (c[1] == pad) c[1] = eos;
            }
            chunks[k] = c;
        }
        return chunks;
    }
}
