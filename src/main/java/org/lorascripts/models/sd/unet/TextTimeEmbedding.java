package org.lorascripts.models.sd.unet;

import java.util.List;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * SDXL's added embedding ({@code addition_embed_type: "text_time"}): diffusers' {@code add_time_proj}
 * ({@code Timesteps(addition_time_embed_dim, flip_sin_to_cos=True, downscale_freq_shift=0)}, no
 * weights) embeds every time id, the pooled text embedding goes in front of the flattened result,
 * and {@code add_embedding} ({@code TimestepEmbedding}: linear_1, SiLU, linear_2) maps it to the
 * time-embedding width. The UNet adds the result to its time embedding before the resnets.
 * Names: add_embedding.linear_1, add_embedding.linear_2 (LDM: label_emb.0.0, label_emb.0.2).
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/unets/unet_2d_condition.py
 * ({@code get_aug_embed}, "text_time"); Timesteps and TimestepEmbedding in models/embeddings.py.
 */
final class TextTimeEmbedding {
    private final Linear linear1, linear2;
    private final int timeDim, inputDim;

    /** @param temb the time-embedding width (4 x the first block's channels) */
    TextTimeEmbedding(Weights w, UNetConfig.TextTime config, long temb) {
        this.timeDim = config.timeEmbedDim();
        this.inputDim = config.inputDim();
        linear1 = new Linear(w.pp("linear_1"), inputDim, temb, true);
        linear2 = new Linear(w.pp("linear_2"), temb, temb, true);
    }

    /** textEmbeds (B, P), timeIds (B, K) with P + K x timeDim = inputDim → (B, T) in {@code dt}. */
    Tensor forward(AddedConditions added, long batch, DType dt) {
        Tensor text = added.textEmbeds(), ids = added.timeIds();
        if (text.dim() != 2 || ids.dim() != 2 || text.size(0) != batch || ids.size(0) != batch) {
            throw new IllegalArgumentException("AddedConditions: expected textEmbeds (B, P) and timeIds (B, K) with B = " + batch
                    + " (the latents' batch), got " + java.util.Arrays.toString(text.shape()) + " and " + java.util.Arrays.toString(ids.shape()));
        }
        long features = text.size(1) + ids.size(1) * timeDim;
        if (features != inputDim) {
            throw new IllegalArgumentException("AddedConditions: textEmbeds (B, " + text.size(1) + ") and timeIds (B, " + ids.size(1) + ") give "
                    + text.size(1) + " + " + ids.size(1) + " x " + timeDim + " = " + features + " features; add_embedding takes " + inputDim
                    + " (projection_class_embeddings_input_dim; SDXL: pooled text (B, 1280) and 6 time ids)");
        }
        return Scope.scoped(() -> {
            // 1. add_time_proj: each id → timeDim sinusoidal features in fp32, flattened per example
            long k = ids.size(1);
            Tensor timeEmb = UNet2DConditionModel.timestepEmbedding(ids.reshape(batch * k), timeDim, batch * k)   // (B K, timeDim)
                    .reshape(batch, k * timeDim);                                                              // (B, K timeDim)
            // 2. [pooled text, time features] in the weights' dtype
            Tensor in = Torch.cat(List.of(text.dtype() == dt ? text : text.to(dt), timeEmb.to(dt)), 1);        // (B, inputDim)
            // 3. add_embedding: linear_1, SiLU, linear_2
            return linear2.forward(linear1.forward(in).silu());                                               // (B, T)
        });
    }
}
