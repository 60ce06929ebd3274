package org.lorascripts.models.llm;

import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Which keys each query may attend to, for scaled-dot-product attention: causal always, plus
 * optionally a sliding window, key padding, and packing (a per-token sequence id: tokens attend
 * only within their own sequence, a block-diagonal causal mask). When plain causal attention
 * suffices the mask is null and the fused kernel's causal flag is used instead.
 *
 * @param mask   bool (B or 1, 1, Tq, Tk), true = attend; null when {@code causal} says it all
 * @param causal pass {@code is_causal} to SDPA (only when mask is null and Tq == Tk)
 */
public record AttentionMask(Tensor mask, boolean causal) {

    /**
     * @param queryLength Tq, the new tokens
     * @param offset      tokens already in the KV cache (query i sits at key position offset + i)
     * @param window      sliding window (0 = none); query q sees key k when q - k < window
     * @param keyPadding  (B, Tk) 1 for real tokens, 0 for padding, or null
     * @param sequenceIds (B, Tq) sequence number of each token when several are packed in a row, or null
     */
    public static AttentionMask build(long queryLength, long offset, int window, Tensor keyPadding, Tensor sequenceIds, Device device) {
        long keyLength = offset + queryLength;
        boolean windowBites = window > 0 && keyLength > window;
        if (keyPadding == null && sequenceIds == null && !windowBites && (offset == 0 || queryLength == 1)) {
            return new AttentionMask(null, offset == 0 && queryLength > 1);
        }
        Tensor q = Torch.arange(offset, keyLength, 1, DType.I64, device).unsqueeze(1);   // (Tq, 1)
        Tensor k = Torch.arange(0, keyLength, 1, DType.I64, device).unsqueeze(0);        // (1, Tk)
        Tensor allowed = k.le(q);                                                         // (Tq, Tk)
        if (windowBites) allowed = allowed.logicalAnd(q.sub(k).lt(window));
        allowed = allowed.unsqueeze(0).unsqueeze(0);                                      // (1, 1, Tq, Tk)
        if (sequenceIds != null) {
            if (offset != 0) throw new IllegalArgumentException("packed sequences (sequence ids) cannot be combined with a KV cache");
            Tensor same = sequenceIds.unsqueeze(2).eq(sequenceIds.unsqueeze(1));          // (B, T, T)
            allowed = allowed.logicalAnd(same.unsqueeze(1));                              // (B, 1, T, T)
        }
        if (keyPadding != null) {
            if (keyPadding.size(-1) != keyLength) {
                throw new IllegalArgumentException("attention mask covers " + keyPadding.size(-1) + " tokens, expected " + keyLength + " (cached + new)");
            }
            Tensor real = keyPadding.ne(0).unsqueeze(1).unsqueeze(1);                     // (B, 1, 1, Tk)
            // a padded query would see no key at all (NaN rows); let it see itself, its output is ignored anyway
            allowed = allowed.logicalAnd(real).logicalOr(k.eq(q).unsqueeze(0).unsqueeze(0));
        }
        return new AttentionMask(allowed, false);
    }
}
