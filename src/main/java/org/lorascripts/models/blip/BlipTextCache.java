package org.lorascripts.models.blip;

import java.util.List;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Decoder state for generation, per text layer: the self-attention keys and values of the tokens seen
 * so far (B, H, T, Dh), growing by one token per step, and the cross-attention keys and values of the
 * image embeddings (B, H, N + 1, Dh), computed on the first step and reused (as transformers'
 * EncoderDecoderCache). The cache owns its tensors; close it when done.
 */
public final class BlipTextCache implements AutoCloseable {
    private final Tensor[] keys, values, crossKeys, crossValues;

    public BlipTextCache(int layers) {
        keys = new Tensor[layers];
        values = new Tensor[layers];
        crossKeys = new Tensor[layers];
        crossValues = new Tensor[layers];
    }

    /** Tokens cached so far (read before a forward: layers are appended one after another). */
    public long length() { return keys[0] == null ? 0 : keys[0].size(2); }

    /** Appends this step's self-attention keys and values; returns the full ones (owned by the cache). */
    List<Tensor> append(int layer, Tensor k, Tensor v) {
        keys[layer] = grow(keys[layer], k);
        values[layer] = grow(values[layer], v);
        return List.of(keys[layer], values[layer]);
    }

    /** The image keys and values of a layer, or null before the first step. */
    List<Tensor> cross(int layer) { return crossKeys[layer] == null ? null : List.of(crossKeys[layer], crossValues[layer]); }

    void putCross(int layer, Tensor k, Tensor v) {
        crossKeys[layer] = k.detach().keep();
        crossValues[layer] = v.detach().keep();
    }

    /** Keeps batch rows {@code index} (I64, (B')) of every cached tensor, in that order: beam search reorders beams so. */
    public void select(Tensor index) {
        for (Tensor[] ts : List.of(keys, values, crossKeys, crossValues)) {
            for (int i = 0; i < ts.length; i++) {
                if (ts[i] == null) continue;
                Tensor next = ts[i].indexSelect(0, index.to(ts[i].device())).detach().keep();
                ts[i].close();
                ts[i] = next;
            }
        }
    }

    private static Tensor grow(Tensor past, Tensor now) {
        Tensor next = (past == null ? now.contiguous() : Torch.cat(List.of(past, now), 2)).detach().keep();
        if (past != null) past.close();
        return next;
    }

    @Override public void close() {
        for (Tensor[] ts : List.of(keys, values, crossKeys, crossValues)) {
            for (int i = 0; i < ts.length; i++) {
                if (ts[i] != null) ts[i].close();
                ts[i] = null;
            }
        }
    }
}
