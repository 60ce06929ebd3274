package org.lorascripts.models.blip;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.LayerNorm;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * BLIP's image encoder (HF {@code BlipVisionModel}): a ViT with a patch-embedding convolution, a class
 * token and learned positions, pre-norm encoder layers whose attention has one fused {@code qkv} linear
 * and a {@code projection}, and a final {@code post_layernorm} applied to every position. Reference:
 * https://github.com/huggingface/transformers/blob/main/src/transformers/models/blip/modeling_blip.py
 * (BlipVisionEmbeddings, BlipAttention, BlipMLP, BlipEncoderLayer, BlipVisionModel).
 *
 * <p>Shapes: B batch, N = (S/P)² patches, D hidden, H heads, Dh = D / H, F intermediate.
 */
public final class BlipVisionModel {
    private final BlipConfig.Vision cfg;
    private final Tensor classEmbedding;      // (1, 1, D)
    private final Conv2d patchEmbedding;      // (D, 3, P, P)
    private final Tensor positionEmbedding;   // (1, N + 1, D)
    private final List<EncoderLayer> layers = new ArrayList<>();
    private final LayerNorm postLayernorm;

    /** {@code w} stands for {@code vision_model}. */
    public BlipVisionModel(Weights w, BlipConfig.Vision cfg) {
        this.cfg = cfg;
        long d = cfg.hidden();
        Weights emb = w.pp("embeddings");
        classEmbedding = emb.get("class_embedding", 1, 1, d);
        patchEmbedding = new Conv2d(emb.pp("patch_embedding"), 3, d, cfg.patch(), cfg.patch(), 0, true);
        positionEmbedding = emb.get("position_embedding", 1, cfg.positions(), d);
        for (int i = 0; i < cfg.layers(); i++) layers.add(new EncoderLayer(w.pp("encoder").pp("layers").pp(i), cfg));
        postLayernorm = new LayerNorm(w.pp("post_layernorm"), d, cfg.eps());
    }

    public BlipConfig.Vision config() { return cfg; }

    /** pixels (B, 3, S, S), normalised → last_hidden_state after post_layernorm (B, N + 1, D): BLIP's image_embeds. */
    public Tensor forward(Tensor pixels) {
        long b = pixels.size(0), h = pixels.size(2), wd = pixels.size(3);
        long n = (h / cfg.patch()) * (wd / cfg.patch());
        if (n + 1 > cfg.positions()) {
            throw new IllegalArgumentException("image of " + h + "x" + wd + " gives " + n + " patches, more than the "
                    + (cfg.positions() - 1) + " of image_size " + cfg.imageSize() + "; resize inputs to " + cfg.imageSize());
        }
        // 1. patch embedding: (B, 3, S, S) → (B, D, S/P, S/P) → (B, N, D)
        Tensor x = patchEmbedding.forward(pixels.to(classEmbedding.dtype())).flatten(2, -1).transpose(1, 2);
        // 2. class token first, then the learned positions
        Tensor cls = classEmbedding.expand(b, 1, cfg.hidden());                          // (B, 1, D)
        x = Torch.cat(List.of(cls, x), 1);                                                // (B, N + 1, D)
        x = x.add(positionEmbedding.narrow(1, 0, n + 1));
        // 3. encoder layers
        for (EncoderLayer layer : layers) x = layer.forward(x);                           // (B, N + 1, D)
        // 4. post_layernorm on every position
        return postLayernorm.forward(x);
    }

    /** BlipEncoderLayer: x + attn(ln1(x)), then x + mlp(ln2(x)). */
    private static final class EncoderLayer {
        private final LayerNorm layerNorm1, layerNorm2;
        private final Linear qkv, projection, fc1, fc2;
        private final int heads;
        private final BlipConfig.Activation activation;

        EncoderLayer(Weights w, BlipConfig.Vision cfg) {
            long d = cfg.hidden();
            heads = cfg.heads();
            activation = cfg.activation();
            layerNorm1 = new LayerNorm(w.pp("layer_norm1"), d, cfg.eps());
            qkv = new Linear(w.pp("self_attn").pp("qkv"), d, 3 * d, true);
            projection = new Linear(w.pp("self_attn").pp("projection"), d, d, true);
            layerNorm2 = new LayerNorm(w.pp("layer_norm2"), d, cfg.eps());
            fc1 = new Linear(w.pp("mlp").pp("fc1"), d, cfg.intermediate(), true);
            fc2 = new Linear(w.pp("mlp").pp("fc2"), cfg.intermediate(), d, true);
        }

        Tensor forward(Tensor x) {                                                        // (B, T, D)
            long b = x.size(0), t = x.size(1), d = x.size(2), dh = d / heads;
            // 1. bidirectional self-attention; qkv rows are [q; k; v], each split into heads
            Tensor mixed = qkv.forward(layerNorm1.forward(x)).view(b, t, 3, heads, dh).permute(2, 0, 3, 1, 4);  // (3, B, H, T, Dh)
            Tensor a = Functional.scaledDotProductAttention(mixed.select(0, 0), mixed.select(0, 1), mixed.select(0, 2),
                    null, 0, false, 0);                                                   // (B, H, T, Dh), scale Dh^-0.5
            x = x.add(projection.forward(a.transpose(1, 2).reshape(b, t, d)));
            // 2. MLP
            Tensor m = fc1.forward(layerNorm2.forward(x));                                // (B, T, F)
            m = Functional.gelu(m, activation == BlipConfig.Activation.GELU_TANH);
            return x.add(fc2.forward(m));                                                 // (B, T, D)
        }
    }
}
