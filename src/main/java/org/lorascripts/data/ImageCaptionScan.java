package org.lorascripts.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.lorascripts.io.image.ImageDecoder;
import org.lorascripts.io.image.RgbaImage;

/**
 * Opens a train_data_dir for {@link ImageCaptionDataset}: takes the images and captions of
 * {@link ImageFolder} (the listing and caption rule the dry run counts with) and decodes every image
 * once to learn its upright size and whether it is readable.
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

    private record Measured(ImageFolder.Image image, Path file, PixelSize size, String error, long modified, long bytes) {
        String name() {
            return image.name();
        }
    }

    private List<ImageExample> run() {
        ImageFolder folder = ImageFolder.open(dir, options.metadataPath(), options.captionExtension());
        List<ImageFolder.Image> images = folder.images();
        List<Measured> measured = IntStream.range(0, images.size()).parallel()
                .mapToObj(i -> measure(images.get(i))).toList();
        List<Measured> bad = measured.stream().filter(m -> m.error() != null).toList();
        checkUnreadable(bad, images.size());

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
            String caption = m.image().caption();
            if (caption.isEmpty()) uncaptioned.add(m.name());
            examples.add(new ImageExample(m.name(), m.file(), size, caption, a, m.modified(), m.bytes()));
        }
        if (!tooSmall.isEmpty()) {
            warn.accept("skipped " + count(tooSmall.size(), "image") + " in '" + dir + "' smaller than bucket_reso_steps "
                    + options.buckets().steps() + " (bucket_no_upscale never enlarges them): " + firstFew(tooSmall));
        }
        if (examples.isEmpty()) {
            throw new DatasetException("train_data_dir '" + dir + "' has no usable images: every image is unreadable"
                    + " or too small; fix or replace them");
        }
        checkCaptions(uncaptioned, examples.size(), folder.metadataFile().isPresent());
        return examples;
    }

    private Measured measure(ImageFolder.Image image) {
        Path file = dir.resolve(image.name());
        try {
            BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
            // A full decode, not just the header: truncated files must be found now, not mid-training.
            RgbaImage pixels = ImageDecoder.decode(file);
            return new Measured(image, file, new PixelSize(pixels.width(), pixels.height()), null,
                    attrs.lastModifiedTime().toMillis(), attrs.size());
        } catch (ImageDecoder.UnreadableImageException | IOException e) {
            return new Measured(image, file, null, e.getMessage(), 0, 0);
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

    private void checkCaptions(List<String> uncaptioned, int total, boolean hasCsv) {
        if (uncaptioned.isEmpty()) return;
        String source = hasCsv
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
