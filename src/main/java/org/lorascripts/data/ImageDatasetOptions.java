package org.lorascripts.data;

import java.nio.file.Path;
import java.util.Optional;
import org.lorascripts.config.Resolution;
import org.lorascripts.config.TrainConfig;

/**
 * What {@link ImageCaptionDataset} needs from the config.
 *
 * @param metadataPath      a metadata.csv outside the folder; empty = {@code <dir>/metadata.csv} when present
 * @param captionExtension  kohya's caption_extension for per-image caption files (".txt")
 * @param maxBadImageRatio  the share of unreadable images tolerated (skipped with a warning) before failing
 * @param regDataDir        kohya's reg_data_dir (N_name subsets of regularization images), if any
 * @param priorLossWeight   the loss weight of the regularization examples (kohya's prior_loss_weight)
 */
public record ImageDatasetOptions(Path trainDataDir, Optional<Path> metadataPath, String captionExtension,
                                  BucketPlan buckets, boolean randomCrop, boolean flipAug, CaptionProcessor captions,
                                  long seed, double maxBadImageRatio, Optional<Path> regDataDir, double priorLossWeight) {
    public static final double DEFAULT_MAX_BAD_IMAGE_RATIO = 0.1;

    public ImageDatasetOptions {
        if (!(maxBadImageRatio >= 0 && maxBadImageRatio <= 1)) {
            throw new IllegalArgumentException("maxBadImageRatio must be in [0, 1], got " + maxBadImageRatio);
        }
        if (!(priorLossWeight > 0)) throw new IllegalArgumentException("priorLossWeight must be > 0, got " + priorLossWeight);
    }

    /** Options without regularization images. */
    public ImageDatasetOptions(Path trainDataDir, Optional<Path> metadataPath, String captionExtension, BucketPlan buckets,
                               boolean randomCrop, boolean flipAug, CaptionProcessor captions, long seed,
                               double maxBadImageRatio) {
        this(trainDataDir, metadataPath, captionExtension, buckets, randomCrop, flipAug, captions, seed, maxBadImageRatio,
                Optional.empty(), 1.0);
    }

    /** The options of a training config (caption_tag_dropout_rate is not a config key yet: 0). */
    public static ImageDatasetOptions of(TrainConfig c) {
        TrainConfig.ImageData image = c.image();
        CaptionProcessor captions = new CaptionProcessor(image.shuffleCaption(), image.keepTokens(),
                image.captionDropoutRate(), 0);
        return new ImageDatasetOptions(c.data().trainDataDir(), c.data().metadataPath(), image.captionExtension(),
                BucketPlan.of(image.resolution(), image.buckets()), image.randomCrop(), image.flipAug(), captions,
                c.loop().seed(), DEFAULT_MAX_BAD_IMAGE_RATIO, c.data().regDataDir(), c.data().priorLossWeight());
    }

    /** Plain options for a folder: no augmentation, the given resolution bucketed as kohya's defaults. */
    public static ImageDatasetOptions simple(Path dir, Resolution resolution) {
        return new ImageDatasetOptions(dir, Optional.empty(), ".txt",
                BucketPlan.bucketed(resolution, 256, 1024, 64, false), false, false, CaptionProcessor.NONE, 0,
                DEFAULT_MAX_BAD_IMAGE_RATIO);
    }

    public ImageDatasetOptions withBuckets(BucketPlan plan) {
        return new ImageDatasetOptions(trainDataDir, metadataPath, captionExtension, plan, randomCrop, flipAug,
                captions, seed, maxBadImageRatio, regDataDir, priorLossWeight);
    }

    /** The same with regularization images from {@code dir} weighted {@code weight}. */
    public ImageDatasetOptions withReg(Optional<Path> dir, double weight) {
        return new ImageDatasetOptions(trainDataDir, metadataPath, captionExtension, buckets, randomCrop, flipAug,
                captions, seed, maxBadImageRatio, dir, weight);
    }

    public ImageDatasetOptions withAugmentation(boolean randomCrop, boolean flipAug, CaptionProcessor captions) {
        return new ImageDatasetOptions(trainDataDir, metadataPath, captionExtension, buckets, randomCrop, flipAug,
                captions, seed, maxBadImageRatio, regDataDir, priorLossWeight);
    }

    public ImageDatasetOptions withMetadata(Path csv) {
        return new ImageDatasetOptions(trainDataDir, Optional.of(csv), captionExtension, buckets, randomCrop, flipAug,
                captions, seed, maxBadImageRatio, regDataDir, priorLossWeight);
    }
}
