package org.lorascripts.models.blip;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.nn.Embedding;
import org.lorascripts.nn.LayerNorm;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * BLIP's caption decoder (HF {@code BlipTextLMHeadModel}): BERT embeddings (word + absolute position,
 * LayerNorm), post-norm BERT layers with causal self-attention, cross-attention to the image embeddings
 * and a GELU feed-forward, then the MLM head ({@code cls.predictions.transform} and a decoder tied to
 * the word embeddings, plus a bias). Reference:
 * https://github.com/huggingface/transformers/blob/main/src/transformers/models/blip/modeling_blip_text.py
 * (BlipTextEmbeddings, BlipTextSelfAttention, BlipTextLayer, BlipTextLMPredictionHead).
 *
 * <p>Shapes: B batch, T new tokens, L cached tokens, N1 = image positions, D hidden, Dv image width,
 * H heads, Dh = D / H, F intermediate, V vocabulary.
 */
public final class BlipTextLMHeadModel {
    private final BlipConfig.Text cfg;
    private final Embedding wordEmbeddings;       // (V, D)
    private final Tensor positionEmbeddings;      // (maxPositions, D)
    private final LayerNorm embeddingsNorm;
    private final List<Layer> layers = new ArrayList<>();
    private final Linear transform;               // cls.predictions.transform.dense
    private final LayerNorm transformNorm;
    private final Linear decoder;                 // (V, D) tied to word embeddings, bias (V)

    /** {@code w} stands for {@code text_decoder}. */
    public BlipTextLMHeadModel(Weights w, BlipConfig.Text cfg) {
        this.cfg = cfg;
        long d = cfg.hidden();
        Weights emb = w.pp("bert").pp("embeddings");
        wordEmbeddings = new Embedding(emb.pp("word_embeddings"), cfg.vocabSize(), d);
        positionEmbeddings = emb.pp("position_embeddings").get("weight", cfg.maxPositions(), d);
        embeddingsNorm = new LayerNorm(emb.pp("LayerNorm"), d, cfg.eps());
        for (int i = 0; i < cfg.layers(); i++) layers.add(new Layer(w.pp("bert").pp("encoder").pp("layer").pp(i), cfg, i));
        Weights pred = w.pp("cls").pp("predictions");
        transform = new Linear(pred.pp("transform").pp("dense"), d, d, true);
        transformNorm = new LayerNorm(pred.pp("transform").pp("LayerNorm"), d, cfg.eps());
        // save_pretrained drops tied copies: the decoder weight is the word embedding table unless stored
        Tensor decoderWeight = pred.contains("decoder.weight") ? pred.get("decoder.weight", cfg.vocabSize(), d) : wordEmbeddings.weight();
        Tensor decoderBias = !pred.contains("bias") && pred.contains("decoder.bias")
                ? pred.get("decoder.bias", cfg.vocabSize()) : pred.get("bias", cfg.vocabSize());
        decoder = new Linear(decoderWeight, decoderBias);
    }

    public BlipConfig.Text config() { return cfg; }

    public BlipTextCache newCache() { return new BlipTextCache(cfg.layers()); }

    /**
     * ids (B, T) → logits (B, T, V), attending causally to themselves (and to the L cached tokens) and
     * fully to imageEmbeds (B, N1, Dv). With a cache, this step's keys and values are appended to it and
     * the image keys and values are computed only on its first use.
     */
    public Tensor logits(Tensor ids, Tensor imageEmbeds, BlipTextCache cache) {
        long t = ids.size(1);
        long past = cache == null ? 0 : cache.length();
        if (past + t > cfg.maxPositions()) {
            throw new IllegalArgumentException(past + t + " tokens exceed max_position_embeddings " + cfg.maxPositions());
        }
        Tensor idx = ids.dtype() == DType.I64 ? ids : ids.to(DType.I64);
        // 1. embeddings: word + position (offset by the cached length), LayerNorm
        Tensor h = wordEmbeddings.forward(idx.to(positionEmbeddings.device()))
                .add(positionEmbeddings.narrow(0, past, t));                             // (B, T, D)
        h = embeddingsNorm.forward(h);
        // 2. decoder layers (causal self-attention, cross-attention, feed-forward; post-norm)
        Tensor mask = past > 0 && t > 1 ? offsetCausalMask(t, past, h) : null;
        Tensor image = imageEmbeds == null ? null : imageEmbeds.to(h.dtype());
        for (Layer layer : layers) h = layer.forward(h, image, cache, mask, past == 0);   // (B, T, D)
        // 3. MLM head: dense, GELU, LayerNorm, tied decoder + bias
        Tensor p = Functional.gelu(transform.forward(h), cfg.activation() == BlipConfig.Activation.GELU_TANH);
        return decoder.forward(transformNorm.forward(p));                                // (B, T, V)
    }

    /** Query i (absolute position past + i) may see keys 0..past + i: (T, L + T), true = attend. */
    private static Tensor offsetCausalMask(long t, long past, Tensor like) {
        Tensor q = Torch.arange(past, past + t, 1, DType.I64, like.device()).view(t, 1);
        Tensor k = Torch.arange(0, past + t, 1, DType.I64, like.device()).view(1, past + t);
        return k.le(q);
    }

    /** BlipTextLayer: self-attention, cross-attention (both BertAttention: attend, dense, LayerNorm(x + .)), feed-forward. */
    private static final class Layer {
        private final int index, heads;
        private final Linear query, key, value, selfDense, crossQuery, crossKey, crossValue, crossDense, intermediate, output;
        private final LayerNorm selfNorm, crossNorm, outputNorm;
        private final BlipConfig.Activation activation;

        Layer(Weights w, BlipConfig.Text cfg, int index) {
            this.index = index;
            heads = cfg.heads();
            activation = cfg.activation();
            long d = cfg.hidden(), dv = cfg.encoderHidden();
            Weights self = w.pp("attention").pp("self");
            query = new Linear(self.pp("query"), d, d, true);
            key = new Linear(self.pp("key"), d, d, true);
            value = new Linear(self.pp("value"), d, d, true);
            selfDense = new Linear(w.pp("attention").pp("output").pp("dense"), d, d, true);
            selfNorm = new LayerNorm(w.pp("attention").pp("output").pp("LayerNorm"), d, cfg.eps());
            Weights cross = w.pp("crossattention").pp("self");
            crossQuery = new Linear(cross.pp("query"), d, d, true);
            crossKey = new Linear(cross.pp("key"), dv, d, true);
            crossValue = new Linear(cross.pp("value"), dv, d, true);
            crossDense = new Linear(w.pp("crossattention").pp("output").pp("dense"), d, d, true);
            crossNorm = new LayerNorm(w.pp("crossattention").pp("output").pp("LayerNorm"), d, cfg.eps());
            intermediate = new Linear(w.pp("intermediate").pp("dense"), d, cfg.intermediate(), true);
            output = new Linear(w.pp("output").pp("dense"), cfg.intermediate(), d, true);
            outputNorm = new LayerNorm(w.pp("output").pp("LayerNorm"), d, cfg.eps());
        }

        Tensor forward(Tensor x, Tensor image, BlipTextCache cache, Tensor mask, boolean causal) {   // (B, T, D)
            long b = x.size(0), t = x.size(1), d = x.size(2);
            // 1. causal self-attention over the cached and new tokens, then post-norm residual
            Tensor q = heads(query.forward(x), b);                                        // (B, H, T, Dh)
            Tensor k = heads(key.forward(x), b);
            Tensor v = heads(value.forward(x), b);
            if (cache != null) {
                List<Tensor> kv = cache.append(index, k, v);                              // (B, H, L + T, Dh)
                k = kv.get(0);
                v = kv.get(1);
            }
            // one new token after a cache sees everything: no mask; a fresh prompt is plainly causal
            Tensor a = Functional.scaledDotProductAttention(q, k, v, mask, 0, causal && t > 1, 0);
            x = selfNorm.forward(selfDense.forward(merge(a, b, t, d)).add(x));
            // 2. cross-attention to every image position (BLIP's image mask is all ones)
            if (image != null) {
                List<Tensor> ckv = cache == null ? null : cache.cross(index);
                Tensor ck, cv;
                if (ckv != null) {
                    ck = ckv.get(0);
                    cv = ckv.get(1);
                } else {
                    ck = heads(crossKey.forward(image), b);                               // (B, H, N1, Dh)
                    cv = heads(crossValue.forward(image), b);
                    if (cache != null) cache.putCross(index, ck, cv);
                }
                Tensor c = Functional.scaledDotProductAttention(heads(crossQuery.forward(x), b), ck, cv, null, 0, false, 0);
                x = crossNorm.forward(crossDense.forward(merge(c, b, t, d)).add(x));
            }
            // 3. feed-forward, post-norm residual
            Tensor f = Functional.gelu(intermediate.forward(x), activation == BlipConfig.Activation.GELU_TANH);   // (B, T, F)
            return outputNorm.forward(output.forward(f).add(x));                          // (B, T, D)
        }

        /** (B, T, D) → (B, H, T, Dh). */
        private Tensor heads(Tensor x, long b) { return x.view(b, -1, heads, x.size(-1) / heads).transpose(1, 2); }

        /** (B, H, T, Dh) → (B, T, D). */
        private static Tensor merge(Tensor a, long b, long t, long d) { return a.transpose(1, 2).reshape(b, t, d); }
    }
}
