package org.lorascripts.models.sd.unet;

import org.lorascripts.tensor.Tensor;

/**
 * SDXL's added conditions, diffusers' {@code added_cond_kwargs} for a UNet with
 * {@code addition_embed_type: "text_time"} ({@link UNetConfig#hasTextTime()}). Given to
 * {@link UNet2DConditionModel#forward(Tensor, Tensor, Tensor, AddedConditions)}.
 *
 * @param textEmbeds the pooled text embedding (B, P): SDXL's second text encoder's projected
 *                   end-of-text state, P = 1280 (diffusers' {@code text_embeds})
 * @param timeIds    the size and crop conditioning (B, K), any numeric dtype (diffusers' {@code time_ids}):
 *                   SDXL base has K = 6, (original height, original width, crop top, crop left,
 *                   target height, target width) in pixels; P + K x addition_time_embed_dim must be
 *                   the config's projection_class_embeddings_input_dim (SDXL: 1280 + 6 x 256 = 2816)
 *
 * <p>Reference: https://github.com/huggingface/diffusers/blob/main/src/diffusers/models/unets/unet_2d_condition.py
 * ({@code get_aug_embed}) and pipelines/stable_diffusion_xl/pipeline_stable_diffusion_xl.py ({@code _get_add_time_ids}).
 */
public record AddedConditions(Tensor textEmbeds, Tensor timeIds) {
    /** SDXL base's number of time ids (K above). */
    public static final int TIME_IDS = 6;

    public AddedConditions {
        if (textEmbeds == null) {
            throw new IllegalArgumentException("AddedConditions: textEmbeds is missing; pass the pooled text embedding (B, P) (SDXL: the second text encoder's, P = 1280)");
        }
        if (timeIds == null) {
            throw new IllegalArgumentException("AddedConditions: timeIds is missing; pass the time ids (B, 6): original height, width, crop top, left, target height, width");
        }
    }

    /**
     * SDXL base's time ids for one image, repeated over a batch of {@code batch}: (B, 6) f32
     * [originalHeight, originalWidth, cropTop, cropLeft, targetHeight, targetWidth].
     */
    public static Tensor timeIds(long batch, double originalHeight, double originalWidth, double cropTop, double cropLeft,
                                 double targetHeight, double targetWidth) {
        float[] row = {(float) originalHeight, (float) originalWidth, (float) cropTop, (float) cropLeft, (float) targetHeight, (float) targetWidth};
        try (Tensor one = org.lorascripts.tensor.Torch.of(row, 1, 6)) {
            return one.expand(batch, 6).contiguous();
        }
    }
}
