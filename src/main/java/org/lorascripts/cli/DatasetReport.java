package org.lorascripts.cli;

import java.util.ArrayList;
import java.util.List;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.data.DatasetScan;
import org.lorascripts.data.ImageCaptionDataset;
import org.lorascripts.data.ImageDatasetOptions;
import org.lorascripts.data.ImageDatasetStats;
import org.lorascripts.data.ImageProblem;
import org.lorascripts.data.TextDataOptions;
import org.lorascripts.data.TextDatasetStats;
import org.lorascripts.data.TextMix;

/** Scans the config's training (and validation) data and words the result for the summary. */
/**
 * @param valExamples the validation examples when the scan already split them (mixed train_data: each
 *                    dataset gives its own share), else -1 (the plan applies val_ratio to {@code examples})
 */
record DatasetReport(int examples, List<String> lines, List<ConfigWarning> warnings, int valExamples) {
    DatasetReport(int examples, List<String> lines, List<ConfigWarning> warnings) { this(examples, lines, warnings, -1); }

    private static final int LISTED = 5;

    static DatasetReport scan(TrainConfig c) {
        List<String> lines = new ArrayList<>();
        List<ConfigWarning> warnings = new ArrayList<>();
        int examples;
        if (c.isImage()) {
            ImageDatasetStats s = DatasetScan.images(c.data().trainDataDir(),
                    c.data().metadataPath().orElse(null), c.image().captionExtension(), ImageDatasetOptions.of(c).subsets());
            lines.add("dataset: " + s.dir());
            lines.add(row("images", Integer.toString(s.imageCount())));
            lines.add(row("captions", s.captionedCount() + " (" + s.fromMetadata() + " from "
                    + s.metadataFile().map(p -> p.getFileName().toString()).orElse("metadata.csv") + ", "
                    + s.fromCaptionFiles() + " from " + c.image().captionExtension() + " files"
                    + (s.fromClassTokens() > 0 ? ", " + s.fromClassTokens() + " from the subset's class tokens" : "") + ")"));
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
            examples = imageCheck(c, s, lines, warnings);
        } else {
            String format = c.text().dataFormat().configName();
            if (c.text().trainData().size() > 1) {
                // several datasets: each one's examples, and the mix training will use (before tokenising)
                TextMix mix = TextMix.read(c.text().trainData(), TextDataOptions.from(c));
                for (int i = 0; i < c.text().trainData().size(); i++) {
                    TextDatasetStats s = DatasetScan.text(c.text().trainData().get(i), format);
                    lines.add(row("dataset " + i, s.source() + ": " + s.files().size() + " file(s), " + s.examples() + " examples"));
                    if (!s.malformedJsonLines().isEmpty()) {
                        warnings.add(new ConfigWarning("train_data", "JSONL lines that are not a JSON object: " + listed(s.malformedJsonLines())));
                    }
                }
                for (String l : mix.describe()) lines.add("  " + l);
                return new DatasetReport(mix.train().size() + mix.val().size(), List.copyOf(lines), List.copyOf(warnings),
                        mix.val().size());
            }
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

    /**
     * Opens the dataset as training will (this decodes every image once): the images it leaves out
     * (unreadable, too small for their bucket) or crops hard are listed by name, and the buckets shown.
     * Returns the number of images that train.
     */
    private static int imageCheck(TrainConfig c, ImageDatasetStats s, List<String> lines, List<ConfigWarning> warnings) {
        ImageDatasetOptions options = ImageDatasetOptions.of(c);
        ImageCaptionDataset ds;
        try {
            // the rows and warnings below say the rest; the kohya layout's ignored folders and images only show here
            ds = ImageCaptionDataset.open(options, w -> {
                if (w.startsWith("ignored")) warnings.add(new ConfigWarning(w.contains("reg_data_dir") ? "reg_data_dir" : "train_data_dir", w));
            });
        } catch (RuntimeException e) {
            // Training will refuse (too many unreadable images, no captions at all): say so, and why.
            lines.add(row("image check", "failed: " + e.getMessage()));
            warnings.add(new ConfigWarning("train_data_dir", "training will stop: " + e.getMessage()));
            return s.imageCount();
        }
        List<ImageProblem> problems = ds.problems();
        List<ImageProblem> unreadable = of(problems, ImageProblem.Kind.UNREADABLE);
        List<ImageProblem> tooSmall = of(problems, ImageProblem.Kind.TOO_SMALL);
        List<ImageProblem> cropped = of(problems, ImageProblem.Kind.CROPPED);
        if (!unreadable.isEmpty()) {
            lines.add(row("unreadable images", unreadable.size() + ", skipped: "
                    + listed(unreadable.stream().map(ImageProblem::name).toList())));
            warnings.add(new ConfigWarning("train_data_dir", unreadable.size() + " of " + s.imageCount()
                    + " images cannot be read and are skipped: " + listed(unreadable.stream().map(ImageProblem::name).toList())
                    + "; first error: " + unreadable.getFirst().detail()));
        }
        if (!tooSmall.isEmpty()) {
            lines.add(row("too small images", tooSmall.size() + ", skipped: " + listed(detailed(tooSmall))));
            warnings.add(new ConfigWarning("train_data_dir", tooSmall.size() + " of " + s.imageCount()
                    + " images are too small for their bucket and are skipped: " + listed(detailed(tooSmall))));
        }
        if (!cropped.isEmpty()) {
            String range = options.buckets().aspectRange();
            lines.add(row("cropped images", cropped.size() + ": " + listed(detailed(cropped))));
            warnings.add(new ConfigWarning("train_data_dir", cropped.size() + " of " + s.imageCount()
                    + " images lose much of themselves to the crop into their bucket (" + range + "): "
                    + listed(detailed(cropped)) + "; crop or split them so that each caption describes what trains"));
        }
        lines.addAll(ds.planLines());
        if (c.image().buckets().enabled()) {
            lines.add(row("buckets", ds.bucketStats().buckets().size() + ", " + ds.sampler(c.loop().batchSize())
                    .batchesPerEpoch() + " batches of up to " + c.loop().batchSize() + " per epoch"));
            for (String l : ds.bucketStats().lines()) lines.add("    " + l.strip());
        }
        return ds.isKohyaLayout() || ds.size() > ds.trainImageCount() ? ds.examplesPerEpoch() : ds.size();
    }

    private static List<ImageProblem> of(List<ImageProblem> problems, ImageProblem.Kind kind) {
        return problems.stream().filter(p -> p.kind() == kind).toList();
    }

    private static List<String> detailed(List<ImageProblem> problems) {
        return problems.stream().map(p -> p.name() + " (" + p.detail() + ")").toList();
    }

    static String row(String label, String value) {
        return String.format("  %-22s %s", label, value);
    }

    private static String listed(List<String> names) {
        String shown = String.join(", ", names.subList(0, Math.min(LISTED, names.size())));
        return names.size() > LISTED ? shown + " and " + (names.size() - LISTED) + " more" : shown;
    }
}
