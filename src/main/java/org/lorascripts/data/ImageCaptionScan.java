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

    /** The images that train and the ones named as problems (skipped or cropped hard), in name order. */
    record Result(List<ImageExample> examples, List<ImageProblem> problems) {}

    static Result scan(ImageDatasetOptions options, Consumer<String> warn) {
        return new ImageCaptionScan(options, warn).run();
    }

    private record Measured(ImageFolder.Image image, Path file, PixelSize size, String error, long modified, long bytes) {
        String name() {
            return image.name();
        }
    }

    private Result run() {
        ImageFolder folder = ImageFolder.open(dir, options.metadataPath(), options.captionExtension());
        List<ImageFolder.Image> images = folder.images();
        List<Measured> measured = IntStream.range(0, images.size()).parallel()
                .mapToObj(i -> measure(images.get(i))).toList();
        List<Measured> bad = measured.stream().filter(m -> m.error() != null).toList();
        checkUnreadable(bad, images.size());

        BucketPlan plan = options.buckets();
        List<ImageExample> examples = new ArrayList<>();
        List<ImageProblem> problems = new ArrayList<>();
        List<String> uncaptioned = new ArrayList<>();
        for (Measured m : measured) {
            if (m.error() != null) {
                problems.add(new ImageProblem(m.name(), ImageProblem.Kind.UNREADABLE, m.error()));
                continue;
            }
            PixelSize size = m.size();
            BucketAssignment a = plan.select(size.width(), size.height());
            BucketPlan.Verdict verdict = plan.judge(size, a);
            if (verdict == BucketPlan.Verdict.TOO_SMALL) {
                problems.add(new ImageProblem(m.name(), ImageProblem.Kind.TOO_SMALL, describe(size, a, true)));
                continue;
            }
            if (verdict == BucketPlan.Verdict.CROPPED) {
                problems.add(new ImageProblem(m.name(), ImageProblem.Kind.CROPPED, describe(size, a, false)));
            }
            String caption = m.image().caption();
            if (caption.isEmpty()) uncaptioned.add(m.name());
            examples.add(new ImageExample(m.name(), m.file(), size, caption, a, m.modified(), m.bytes()));
        }
        warnTooSmall(named(problems, ImageProblem.Kind.TOO_SMALL));
        warnCropped(named(problems, ImageProblem.Kind.CROPPED));
        if (examples.isEmpty()) {
            throw new DatasetException("train_data_dir '" + dir + "' has no usable images: every image is unreadable"
                    + " or too small; fix or replace them");
        }
        checkCaptions(uncaptioned, examples.size(), folder.metadataFile().isPresent());
        return new Result(examples, problems);
    }

    /** "1x1: enlarged 64x for its 64x64 bucket", "1000x100: cropped to 40% for its 128x32 bucket"; no-upscale: "6x40". */
    private String describe(PixelSize size, BucketAssignment a, boolean tooSmall) {
        if (tooSmall && options.buckets().noUpscale()) return size.toString();
        List<String> what = new ArrayList<>();
        double upscale = a.upscale(size);
        if (tooSmall) what.add("enlarged " + decimal(upscale) + "x");
        if (a.keptShare() < BucketPlan.MIN_KEPT) what.add("cropped to " + percentKept(a.keptShare()));
        return size + ": " + String.join(" and ", what) + " for its " + a.bucket() + " bucket";
    }

    private static List<String> named(List<ImageProblem> problems, ImageProblem.Kind kind) {
        return problems.stream().filter(p -> p.kind() == kind).map(p -> p.name() + " (" + p.detail() + ")").toList();
    }

    private void warnTooSmall(List<String> tooSmall) {
        if (tooSmall.isEmpty()) return;
        String n = count(tooSmall.size(), "image");
        if (options.buckets().noUpscale()) {
            warn.accept("skipped " + n + " in '" + dir + "' smaller than bucket_reso_steps " + options.buckets().steps()
                    + " (bucket_no_upscale never enlarges them): " + firstFew(tooSmall));
        } else {
            warn.accept("skipped " + n + " in '" + dir + "' too small for their bucket (enlarged more than "
                    + decimal(BucketPlan.MAX_UPSCALE) + "x an image trains on interpolation): " + firstFew(tooSmall)
                    + "; use larger images");
        }
    }

    private void warnCropped(List<String> cropped) {
        if (cropped.isEmpty()) return;
        warn.accept(count(cropped.size(), "image") + " in '" + dir + "' " + (cropped.size() == 1 ? "loses" : "lose")
                + " more than " + percent(1 - BucketPlan.MIN_KEPT) + " to the crop into " + (cropped.size() == 1 ? "its" : "their")
                + " bucket ("
                + options.buckets().aspectRange() + "): " + firstFew(cropped)
                + "; crop or split them so that each caption describes what trains");
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

    private static String percentKept(double share) {
        return share < 0.01 ? "under 1%" : percent(share);
    }

    /** 64 -> "64", 25.6 -> "25.6". */
    private static String decimal(double v) {
        return v == Math.rint(v) ? Long.toString((long) v) : String.format(java.util.Locale.ROOT, "%.1f", v);
    }
}
