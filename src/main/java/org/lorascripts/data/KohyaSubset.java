package org.lorascripts.data;

import java.nio.file.Path;

/**
 * One subset of a kohya sd-scripts DreamBooth-style folder: a sub-folder named {@code N_name}
 * (library/config_util.py: {@code generate_dreambooth_subsets_config_by_subdirs}).
 *
 * @param dir         the sub-folder
 * @param folder      its name, e.g. "10_mystyle" (kohya's key in ss_dataset_dirs)
 * @param repeats     N: how many times each image trains per epoch
 * @param classTokens everything after the first underscore: the caption of images without one
 * @param reg         whether it is a regularization subset (reg_data_dir)
 */
public record KohyaSubset(Path dir, String folder, int repeats, String classTokens, boolean reg) {}
