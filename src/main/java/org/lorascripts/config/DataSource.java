package org.lorascripts.config;

import java.nio.file.Path;

/**
 * One train_data entry: a file or folder, and optionally its share of an interleaved mix, given as a
 * {@code probability} (all of them summing to 1, as interleave_probs) or a relative {@code weight}.
 *
 * @param share the probability or weight, or null when the entry is a bare path
 */
public record DataSource(Path path, Double share, boolean isWeight) {
    @Override public String toString() {
        return share == null ? path.toString() : "{path: " + path + ", " + (isWeight ? "weight" : "probability") + ": " + NumberText.format(share) + "}";
    }
}
