package org.lorascripts.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.lorascripts.data.CaptionStore;
import org.lorascripts.io.image.ImageDecoder;
import org.lorascripts.data.ImageFiles;
import org.lorascripts.data.MetadataCsv;
import org.lorascripts.io.image.RgbaImage;

/**
 * Opens a train_data_dir for {@link ImageCaptionDataset}: lists the images, finds their captions
 * (metadata.csv first, then a caption file beside the image, as {@link DatasetScan} counts them for
 * the dry run), and decodes every image once to learn its upright size and whether it is readable.
 * Pixels are not kept: a dataset of thousands of photos would not fit in memory.
 */
final class ImageCaptionScan {
    /** How many file names a warning or error lists. */
    static final int LISTED = 5;

    private final ImageDatasetOptions options;
    private final Consumer<String> warn;
    private final Path dir;

    private ImageCaptionScan(ImageDatasetOptions options, Consumer<String> warn) {
        this.options = options;
        this.warn = warn;
        this.dir = options.trainDataDir();
    }

    static List<ImageExample> scan(ImageDatasetOptions options, Consumer<String> warn) {
        return new ImageCaptionScan(options, warn).run();
    }

    private record Measured(String name, Path file, PixelSize size, String error, long modified, long bytes) {}

    private List<ImageExample> run() {
        requireFolder();
        List<String> names;
        Map<String, String> captions;
        names = ImageFiles.list(dir);
            if (names.isEmpty()) {
                throw new DatasetException("train_data_dir '" + dir + "' contains no images: supported extensions are "
                        + String.join(", ", ImageFiles.EXTENSIONS.stream().sorted().map(e -> "." + e).toList())
                        + " (sub-folders are searched too; hidden ones are skipped)");
            }
        captions = readCaptions(names);

        List<Measured> measured = IntStream.range(0, names.size()).parallel()
                .mapToObj(i -> measure(names.get(i))).toList();
        List<Measured> bad = measured.stream().filter(m -> m.error() != null).toList();
        checkUnreadable(bad, names.size());

        List<ImageExample> examples = new ArrayList<>();
        List<String> tooSmall = new ArrayList<>();
        List<String> uncaptioned = new ArrayList<>();
        for (Measured m : measured) {
            if (m.error() != null) continue;
            PixelSize size = m.size();
            BucketAssignment a = options.buckets().select(size.width(), size.height());
            if (a.bucket().width() == 0 || a.bucket().height() == 0) {
                tooSmall.add(m.name() + " (" + size + ")");
                continue;
            }
            String caption = captions.getOrDefault(m.name(), "");
            if (caption.isBlank()) uncaptioned.add(m.name());
            examples.add(new ImageExample(m.name(), m.file(), size, caption.isBlank() ? "" : caption, a,
                    m.modified(), m.bytes()));
        }
        if (!tooSmall.isEmpty()) {
            warn.accept("skipped " + count(tooSmall.size(), "image") + " in '" + dir + "' smaller than bucket_reso_steps "
                    + options.buckets().steps() + " (bucket_no_upscale never enlarges them): " + firstFew(tooSmall));
        }
        if (examples.isEmpty()) {
            throw new DatasetException("train_data_dir '" + dir + "' has no usable images: every image is unreadable"
                    + " or too small; fix or replace them");
        }
        checkCaptions(uncaptioned, examples.size());
        return examples;
    }

    private void requireFolder() {
        if (!Files.exists(dir)) {
            throw new DatasetException("train_data_dir '" + dir + "' does not exist: put the training images there"
                    + " or fix the path (relative paths are relative to the config file)");
        }
        if (!Files.isDirectory(dir)) {
            throw new DatasetException("train_data_dir '" + dir + "' is a file: it must be a folder of images");
        }
    }

    /** image name → caption; metadata.csv rows win, caption files fill in the images the csv lacks. */
    private Map<String, String> readCaptions(List<String> names) {
        Map<String, String> captions = new HashMap<>();
        Path csv = options.metadataPath().orElse(null);
        if (csv != null && !Files.isRegularFile(csv)) {
            throw new DatasetException("metadata_path '" + csv + "' does not exist: fix the path or remove the key"
                    + " to use caption files beside the images");
        }
        if (csv == null && Files.isRegularFile(dir.resolve(MetadataCsv.FILE_NAME))) csv = dir.resolve(MetadataCsv.FILE_NAME);
        for (var e : CaptionStore.openTxt(dir, options.captionExtension()).captions().entrySet()) {
            captions.put(e.getKey(), e.getValue());
        }
        if (csv != null) {
            for (var e : CaptionStore.openCsv(dir, csv).captions().entrySet()) {
                if (!e.getValue().isBlank()) captions.put(normalizeName(e.getKey()), e.getValue().strip());
            }
        }
        return captions;
    }

    /** metadata.csv names as written by hand: "./a.png" and "sub\\b.png" mean "a.png" and "sub/b.png". */
    private static String normalizeName(String fileName) {
        String n = fileName.strip().replace('\\', '/');
        while (n.startsWith("./")) n = n.substring(2);
        return n;
    }

    private Measured measure(String name) {
        Path file = dir.resolve(name);
        try {
            BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
            // A full decode, not just the header: truncated files must be found now, not mid-training.
            RgbaImage image = ImageDecoder.decode(file);
            return new Measured(name, file, new PixelSize(image.width(), image.height()), null,
                    attrs.lastModifiedTime().toMillis(), attrs.size());
        } catch (ImageDecoder.UnreadableImageException | IOException e) {
            return new Measured(name, file, null, e.getMessage(), 0, 0);
        }
    }

    private void checkUnreadable(List<Measured> bad, int total) {
        if (bad.isEmpty()) return;
        List<String> badNames = bad.stream().map(Measured::name).toList();
        String detail = ": " + firstFew(badNames) + "; first error: " + bad.getFirst().error();
        if (bad.size() > options.maxBadImageRatio() * total) {
            throw new DatasetException(bad.size() + " of " + total + " images in '" + dir + "' cannot be read (at most "
                    + percent(options.maxBadImageRatio()) + " may be skipped)" + detail + "; fix or delete them");
        }
        warn.accept("skipped " + bad.size() + " of " + total + " images in '" + dir + "' that cannot be read" + detail);
    }

    private void checkCaptions(List<String> uncaptioned, int total) {
        if (uncaptioned.isEmpty()) return;
        String source = options.metadataPath().isPresent() || Files.isRegularFile(dir.resolve(MetadataCsv.FILE_NAME))
                ? MetadataCsv.FILE_NAME + " or " + options.captionExtension() + " files"
                : options.captionExtension() + " files beside the images";
        String howTo = "./lora label --input " + dir + " --trigger WORD";
        if (uncaptioned.size() == total) {
            throw new DatasetException("none of the " + count(total, "image") + " in '" + dir + "' has a caption (looked in "
                    + source + "): caption them with " + howTo);
        }
        warn.accept(uncaptioned.size() + " of " + total + " images in '" + dir + "' have no caption and train with an"
                + " empty one (as kohya does): " + firstFew(uncaptioned) + "; caption them with " + howTo);
    }

    static String firstFew(List<String> names) {
        String shown = String.join(", ", names.subList(0, Math.min(LISTED, names.size())));
        return names.size() > LISTED ? shown + ", ... (" + (names.size() - LISTED) + " more)" : shown;
    }

    private static String count(int n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }

    private static String percent(double ratio) {
        return String.format(java.util.Locale.ROOT, "%.0f%%", ratio * 100);
    }
}
