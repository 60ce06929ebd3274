package org.lorascripts.tasks.sd;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.data.ImageCaptionDataset;
import org.lorascripts.data.ImageExample;
import org.lorascripts.data.ImageTransform;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.models.sd.unet.AddedConditions;

/**
 * What SDXL LoRA training adds to the SD 1.x / 2.x step, as kohya's {@code sdxl_train_network.py}
 * does it: the UNet also gets the pooled text embedding and per-example size and crop conditioning
 * (time ids). They live here so that {@link SdLoraTask} stays one step for every family.
 *
 * <p>Time ids are the per-example input of kohya's {@code get_size_embeddings}: (original height,
 * original width, crop top, crop left, target height, target width), with original = the image's size
 * before the resize, crop = the top-left corner of the bucket window in the resized image (the SDXL
 * paper's c_crop, as diffusers' SDXL training script computes it), target = the bucket. They must be
 * the example's own, not the bucket's: SDXL learned to draw cropped content when told it was cropped,
 * so a wrong crop or size here teaches the LoRA the wrong association. kohya's dataset fills the crop
 * from {@code BucketManager.get_crop_ltrb} instead, the offset of the whole image fitted inside the
 * bucket (not the window actually cut); we follow the paper's meaning, which the window gives exactly.
 *
 * <p>Caption dropout needs nothing here: the dropped caption is "" and is encoded like any other
 * caption (kohya does the same for SDXL training; the zero embedding of
 * {@code force_zeros_for_empty_prompt} is only a sampling-time convention for the negative side).
 */
final class SdxlConditioning {
    private SdxlConditioning() {}

    /**
     * The six time ids of one example placed as {@code p}. A flipped image shows the window mirrored,
     * so its left crop is measured from the other edge of the resized image: what the pixels show.
     */
    static float[] timeIds(ImageExample e, ImageTransform.Placement p) {
        int cropLeft = p.flipped() ? p.resized().width() - p.cropLeft() - p.bucket().width() : p.cropLeft();
        return new float[] {e.size().height(), e.size().width(), p.cropTop(), cropLeft, p.bucket().height(), p.bucket().width()};
    }

    /** Time ids (B, 6) f32 on the CPU of examples {@code idx} of {@code ds} as placed in {@code epoch}. */
    static Tensor timeIds(ImageCaptionDataset ds, int[] idx, int epoch) {
        float[] flat = new float[idx.length * AddedConditions.TIME_IDS];
        for (int k = 0; k < idx.length; k++) {
            float[] row = timeIds(ds.example(idx[k]), ds.placement(idx[k], epoch));
            System.arraycopy(row, 0, flat, k * AddedConditions.TIME_IDS, AddedConditions.TIME_IDS);
        }
        return Torch.of(flat, idx.length, AddedConditions.TIME_IDS);
    }

    /** Per-caption conditionings (1, ...) stacked into one batch; pooled stays null for SD 1.x / 2.x. */
    static SdPipeline.Conditioning batch(List<SdPipeline.Conditioning> rows) {
        if (rows.size() == 1) return rows.getFirst();
        List<Tensor> ctx = new ArrayList<>(rows.size());
        List<Tensor> pooled = new ArrayList<>(rows.size());
        for (SdPipeline.Conditioning c : rows) {
            ctx.add(c.context());
            if (c.pooled() != null) pooled.add(c.pooled());
        }
        return new SdPipeline.Conditioning(Torch.cat(ctx, 0), pooled.isEmpty() ? null : Torch.cat(pooled, 0));
    }

    /** Added conditions of a batch on the device of {@code pooled}. */
    static AddedConditions added(Tensor pooled, ImageCaptionDataset ds, int[] idx, int epoch) {
        return new AddedConditions(pooled, timeIds(ds, idx, epoch).to(pooled.device()));
    }

    /** kohya trains SDXL at 1024x1024; a smaller resolution works but strays from what the base model knows. */
    static String resolutionNote(int width, int height) {
        return width * height < 1024 * 1024
                ? "SDXL was trained around 1024x1024 pixels; resolution " + width + "x" + height + " is smaller (kohya's SDXL recipe uses resolution: 1024)"
                : null;
    }
}
