package org.lorascripts.data;

import java.nio.file.Path;
import java.util.Optional;

/**
 * One subset of a kohya sd-scripts dataset: a sub-folder named {@code N_name} of a DreamBooth-style
 * folder (library/config_util.py: {@code generate_dreambooth_subsets_config_by_subdirs}), or one
 * {@code [[datasets.subsets]]} of kohya's dataset config (our {@code subsets:}).
 *
 * @param dir         the image folder
 * @param folder      its name, e.g. "10_mystyle" (kohya's key in ss_dataset_dirs)
 * @param repeats     N: how many times each image trains per epoch
 * @param classTokens the caption of images without one ("" = none): everything after the first
 *                    underscore of an N_name folder, or the subset's class_tokens
 * @param reg         whether it is a regularization subset (reg_data_dir, is_reg)
 * @param settings    what the subset sets for itself instead of the dataset's options
 */
public record KohyaSubset(Path dir, String folder, int repeats, String classTokens, boolean reg, Settings settings) {
    /** A subset that takes every caption and augmentation option from the dataset (an N_name folder). */
    public KohyaSubset(Path dir, String folder, int repeats, String classTokens, boolean reg) {
        this(dir, folder, repeats, classTokens, reg, Settings.INHERIT);
    }

    /** A subset's own caption file, caption extension, caption processing and augmentation; empty = the dataset's. */
    public record Settings(Optional<Path> metadataFile, Optional<String> captionExtension, Optional<CaptionProcessor> captions,
                           Optional<Boolean> flipAug, Optional<Boolean> randomCrop) {
        public static final Settings INHERIT = new Settings(Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty());
    }

    /** The caption extension this subset reads. */
    String captionExtension(ImageDatasetOptions o) { return settings.captionExtension().orElse(o.captionExtension()); }

    CaptionProcessor captions(ImageDatasetOptions o) { return settings.captions().orElse(o.captions()); }

    boolean flipAug(ImageDatasetOptions o) { return settings.flipAug().orElse(o.flipAug()); }

    boolean randomCrop(ImageDatasetOptions o) { return settings.randomCrop().orElse(o.randomCrop()); }
}
