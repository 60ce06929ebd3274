package org.lorascripts.cli;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.data.DatasetScan;
import org.lorascripts.data.ImageCaptionDataset;
import org.lorascripts.data.ImageDatasetOptions;
import org.lorascripts.data.ImageDatasetStats;
import org.lorascripts.data.TextDatasetStats;

/** Scans the config's training (and validation) data and words the result for the summary. */
record DatasetReport(int examples, List<String> lines, List<ConfigWarning> warnings) {
    private static final int LISTED = 5;

    static DatasetReport scan(TrainConfig c) {
        List<String> lines = new ArrayList<>();
        List<ConfigWarning> warnings = new ArrayList<>();
        int examples;
        if (c.isImage()) {
            ImageDatasetStats s = DatasetScan.images(c.data().trainDataDir(),
                    c.data().metadataPath().orElse(null), c.image().captionExtension());
            examples = s.imageCount();
            lines.add("dataset: " + s.dir());
            lines.add(row("images", Integer.toString(s.imageCount())));
            lines.add(row("captions", s.captionedCount() + " (" + s.fromMetadata() + " from "
                    + s.metadataFile().map(p -> p.getFileName().toString()).orElse("metadata.csv") + ", "
                    + s.fromCaptionFiles() + " from " + c.image().captionExtension() + " files)"));
            lines.add(row("missing captions", s.missingCaptions().isEmpty() ? "none"
                    : s.missingCaptions().size() + ": " + listed(s.missingCaptions())));
            if (!s.missingCaptions().isEmpty()) {
                warnings.add(new ConfigWarning("train_data_dir", s.missingCaptions().size() + " of " + s.imageCount()
                        + " images have no caption and train with an empty one: " + listed(s.missingCaptions())));
            }
            if (!s.orphanMetadataRows().isEmpty()) {
                warnings.add(new ConfigWarning("metadata_path", s.orphanMetadataRows().size()
                        + " caption rows name files that are not in train_data_dir: " + listed(s.orphanMetadataRows())));
            }
            c.data().valDataDir().ifPresent(v -> lines.add(row("validation images",
                    Integer.toString(DatasetScan.images(v, null, c.image().captionExtension()).imageCount()))));
            if (c.image().buckets().enabled() && s.imageCount() > 0) bucketLines(c, lines);
        } else {
            String format = c.text().dataFormat().configName();
            TextDatasetStats s = DatasetScan.text(c.data().trainDataDir(), format);
            examples = s.examples();
            lines.add("dataset: " + s.source());
            lines.add(row("files", s.files().size() + " (" + listed(s.files().stream()
                    .map(p -> p.getFileName().toString()).toList()) + ")"));
            lines.add(row("examples", s.examples() + " (" + s.textExamples() + " text lines, "
                    + s.jsonlExamples() + " jsonl lines)"));
            if (!s.malformedJsonLines().isEmpty()) {
                warnings.add(new ConfigWarning("train_data_dir", "JSONL lines that are not a JSON object: "
                        + listed(s.malformedJsonLines())));
            }
            c.data().valDataDir().ifPresent(v -> lines.add(row("validation examples",
                    Integer.toString(DatasetScan.text(v, format).examples()))));
        }
        return new DatasetReport(examples, List.copyOf(lines), List.copyOf(warnings));
    }

    /** Aspect-ratio buckets as training will form them (this decodes every image once). */
    private static void bucketLines(TrainConfig c, List<String> lines) {
        try {
            ImageCaptionDataset ds = ImageCaptionDataset.open(ImageDatasetOptions.of(c), w -> { });
            lines.add(row("buckets", ds.bucketStats().buckets().size() + ", "
                    + ds.sampler(c.loop().batchSize()).batchesPerEpoch() + " batches of up to " + c.loop().batchSize() + " per epoch"));
            for (String l : ds.bucketStats().lines()) lines.add("    " + l.strip());
        } catch (RuntimeException e) {
            lines.add(row("buckets", "not computed: " + e.getMessage()));
        }
    }

    static String row(String label, String value) {
        return String.format("  %-22s %s", label, value);
    }

    private static String listed(List<String> names) {
        String shown = String.join(", ", names.subList(0, Math.min(LISTED, names.size())));
        return names.size() > LISTED ? shown + " and " + (names.size() - LISTED) + " more" : shown;
    }
}
