package org.lorascripts.models.llm;

import java.util.List;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Keys and values of the tokens seen so far, per decoder layer, each (B, Hkv, T, D) with RoPE
 * already applied (as transformers' DynamicCache). The cache owns its tensors; close it when done.
 */
public final class KvCache implements AutoCloseable {
    private final Tensor[] keys, values;

    public KvCache(int layers) {
        keys = new Tensor[layers];
        values = new Tensor[layers];
    }

    /** Tokens cached so far (read before a forward: layers are appended one after another). */
    public long length() { return keys[0] == null ? 0 : keys[0].size(2); }

    /** Appends this step's (B, Hkv, T, D) keys and values; returns the full ones (owned by the cache). */
    List<Tensor> append(int layer, Tensor k, Tensor v) {
        keys[layer] = grow(keys[layer], k);
        values[layer] = grow(values[layer], v);
        return List.of(keys[layer], values[layer]);
    }

    private static Tensor grow(Tensor past, Tensor now) {
        Tensor next = (past == null ? now.contiguous() : Torch.cat(List.of(past, now), 2)).detach().keep();
        if (past != null) past.close();
        return next;
    }

    @Override public void close() {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != null) keys[i].close();
            if (values[i] != null) values[i].close();
            keys[i] = values[i] = null;
        }
    }
}
