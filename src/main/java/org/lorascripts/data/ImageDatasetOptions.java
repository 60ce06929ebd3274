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
 * @param subsets           kohya's dataset config subsets (train and reg ones) instead of the folders; empty = the
 *                          folders (trainDataDir, its N_name subsets, regDataDir)
 */
public record ImageDatasetOptions(Path trainDataDir, Optional<Path> metadataPath, String captionExtension,
                                  BucketPlan buckets, boolean randomCrop, boolean flipAug, CaptionProcessor captions,
                                  long seed, double maxBadImageRatio, Optional<Path> regDataDir, double priorLossWeight,
                                  java.util.List<KohyaSubset> subsets) {
    public static final double DEFAULT_MAX_BAD_IMAGE_RATIO = 0.1;

    public ImageDatasetOptions {
        if (!(maxBadImageRatio >= 0 && maxBadImageRatio <= 1)) {
            throw new IllegalArgumentException("maxBadImageRatio must be in [0, 1], got " + maxBadImageRatio);
        }
        if (!(priorLossWeight > 0)) throw new IllegalArgumentException("priorLossWeight must be > 0, got " + priorLossWeight);
        subsets = java.util.List.copyOf(subsets);
    }

    /** Options that read the folders (no dataset config subsets). */
    public ImageDatasetOptions(Path trainDataDir, Optional<Path> metadataPath, String captionExtension, BucketPlan buckets,
                               boolean randomCrop, boolean flipAug, CaptionProcessor captions, long seed,
                               double maxBadImageRatio, Optional<Path> regDataDir, double priorLossWeight) {
        this(trainDataDir, metadataPath, captionExtension, buckets, randomCrop, flipAug, captions, seed, maxBadImageRatio,
                regDataDir, priorLossWeight, java.util.List.of());
    }

    /** Options without regularization images. */
    public ImageDatasetOptions(Path trainDataDir, Optional<Path> metadataPath, String captionExtension, BucketPlan buckets,
                               boolean randomCrop, boolean flipAug, CaptionProcessor captions, long seed,
                               double maxBadImageRatio) {
        this(trainDataDir, metadataPath, captionExtension, buckets, randomCrop, flipAug, captions, seed, maxBadImageRatio,
                Optional.empty(), 1.0);
    }

    /** The options of a training config. */
    public static ImageDatasetOptions of(TrainConfig c) {
        TrainConfig.ImageData image = c.image();
        TrainConfig.Captions edits = image.captionEdits();
        CaptionProcessor captions = new CaptionProcessor(image.shuffleCaption(), image.keepTokens(),
                image.captionDropoutRate(), image.captionTagDropoutRate(), image.keepTokensSeparator(),
                edits.prefix(), edits.suffix(), edits.secondarySeparator());
        java.util.List<KohyaSubset> subsets = c.data().subsets().stream().map(ImageDatasetOptions::subset).toList();
        return new ImageDatasetOptions(c.data().trainDataDir(), c.data().metadataPath(), image.captionExtension(),
                BucketPlan.of(image.resolution(), image.buckets()), image.randomCrop(), image.flipAug(), captions,
                c.loop().seed(), DEFAULT_MAX_BAD_IMAGE_RATIO, c.data().regDataDir(), c.data().priorLossWeight(), subsets);
    }

    /** A subsets: entry, its values resolved by the config, as a subset with settings of its own. */
    static KohyaSubset subset(TrainConfig.Subset s) {
        Path name = s.imageDir().toAbsolutePath().normalize().getFileName();
        CaptionProcessor captions = new CaptionProcessor(s.shuffleCaption(), s.keepTokens(), s.captionDropoutRate(),
                s.captionTagDropoutRate(), s.keepTokensSeparator(), s.captions().prefix(), s.captions().suffix(),
                s.captions().secondarySeparator());
        return new KohyaSubset(s.imageDir(), name == null ? s.imageDir().toString() : name.toString(), s.numRepeats(),
                s.classTokens(), s.isReg(), new KohyaSubset.Settings(s.metadataFile(), Optional.of(s.captionExtension()),
                Optional.of(captions), Optional.of(s.flipAug()), Optional.of(s.randomCrop())));
    }

    /** Plain options for a folder: no augmentation, the given resolution bucketed as kohya's defaults. */
    public static ImageDatasetOptions simple(Path dir, Resolution resolution) {
        return new ImageDatasetOptions(dir, Optional.empty(), ".txt",
                BucketPlan.bucketed(resolution, 256, 1024, 64, false), false, false, CaptionProcessor.NONE, 0,
                DEFAULT_MAX_BAD_IMAGE_RATIO);
    }

    public ImageDatasetOptions withBuckets(BucketPlan plan) {
        return new ImageDatasetOptions(trainDataDir, metadataPath, captionExtension, plan, randomCrop, flipAug,
                captions, seed, maxBadImageRatio, regDataDir, priorLossWeight, subsets);
    }

    /** The same with regularization images from {@code dir} weighted {@code weight}. */
    public ImageDatasetOptions withReg(Optional<Path> dir, double weight) {
        return new ImageDatasetOptions(trainDataDir, metadataPath, captionExtension, buckets, randomCrop, flipAug,
                captions, seed, maxBadImageRatio, dir, weight, subsets);
    }

    public ImageDatasetOptions withAugmentation(boolean randomCrop, boolean flipAug, CaptionProcessor captions) {
        return new ImageDatasetOptions(trainDataDir, metadataPath, captionExtension, buckets, randomCrop, flipAug,
                captions, seed, maxBadImageRatio, regDataDir, priorLossWeight, subsets);
    }

    public ImageDatasetOptions withMetadata(Path csv) {
        return new ImageDatasetOptions(trainDataDir, Optional.of(csv), captionExtension, buckets, randomCrop, flipAug,
                captions, seed, maxBadImageRatio, regDataDir, priorLossWeight, subsets);
    }

    /** The same reading {@code subsets} (kohya's dataset config) instead of the folders. */
    public ImageDatasetOptions withSubsets(java.util.List<KohyaSubset> subsets) {
        return new ImageDatasetOptions(trainDataDir, metadataPath, captionExtension, buckets, randomCrop, flipAug,
                captions, seed, maxBadImageRatio, regDataDir, priorLossWeight, subsets);
    }
}
