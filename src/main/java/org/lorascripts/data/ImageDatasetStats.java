package org.lorascripts.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What {@link DatasetScan#images} found. Image names are relative to the data folder with '/'
 * separators.
 *
 * @param fromMetadata       images captioned by the CSV (it wins over a .txt file)
 * @param fromCaptionFiles   images captioned by a per-image caption file only
 * @param missingCaptions    images with no (or an empty) caption
 * @param orphanMetadataRows CSV file names that match no image
 * @param fromClassTokens    kohya layout: images captioned by their subset's class tokens (the folder name after N_)
 */
public record ImageDatasetStats(Path dir, List<String> images, Optional<Path> metadataFile, int fromMetadata,
                                int fromCaptionFiles, List<String> missingCaptions, List<String> orphanMetadataRows,
                                int fromClassTokens) {
    public int imageCount() { return images.size(); }

    public int captionedCount() { return fromMetadata + fromCaptionFiles + fromClassTokens; }
}
