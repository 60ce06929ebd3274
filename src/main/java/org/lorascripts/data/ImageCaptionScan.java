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
        this(options, warn, options.trainDataDir());
    }

    /**
     * The images that train and the ones named as problems (skipped or cropped hard), in name order.
     * {@code subsetOf[i]} is example i's index in {@code subsets} (kohya layout), -1 in a plain folder.
     */
    record Result(List<ImageExample> examples, List<ImageProblem> problems, int[] subsetOf, List<KohyaSubset> subsets) {}

    static Result scan(ImageDatasetOptions options, Consumer<String> warn) {
        return new ImageCaptionScan(options, warn).run(options.trainDataDir(), false);
    }

    /** The regularization images of {@code regDir}, which must have kohya's N_name layout. */
    static Result scanReg(ImageDatasetOptions options, Path regDir, Consumer<String> warn) {
        return new ImageCaptionScan(options, warn, regDir).run(regDir, true);
    }

    private ImageCaptionScan(ImageDatasetOptions options, Consumer<String> warn, Path dir) {
        this.options = options;
        this.warn = warn;
        this.dir = dir;
    }

    private record Measured(ImageFolder.Image image, String name, Path file, PixelSize size, String error, long modified,
                            long bytes, int subset) {}

    /** One folder read with one caption rule: the whole train_data_dir, or one kohya subset. */
    private record Part(Path dir, String prefix, String classTokens, int subset, java.util.Optional<Path> metadata,
                        String captionExtension) {}

    private List<Part> parts(Path root, boolean reg, List<KohyaSubset> subsets) {
        java.util.Optional<List<KohyaSubset>> kohya;
        if (!options.subsets().isEmpty()) {
            kohya = java.util.Optional.of(options.subsets().stream().filter(s -> s.reg() == reg).toList());
            for (KohyaSubset s : kohya.get()) {
                if (!Files.isDirectory(s.dir())) {
                    throw new DatasetException((reg ? "reg " : "") + "subset image_dir '" + s.dir() + "' does not exist or is"
                            + " not a folder: fix the path in subsets");
                }
            }
        } else {
            kohya = KohyaLayout.detect(root, reg, warn);
        }
        if (kohya.isEmpty()) {
            if (reg) {
                if (!java.nio.file.Files.isDirectory(root)) {
                    throw new DatasetException("reg_data_dir '" + root + "' does not exist or is not a folder: fix the path"
                            + " or remove the key");
                }
                throw new DatasetException("reg_data_dir '" + root + "' has no N_name sub-folder (e.g. 1_person): put"
                        + " the regularization images in one, N = repeats and name = their class caption");
            }
            return List.of(new Part(root, "", "", -1, options.metadataPath(), options.captionExtension()));
        }
        if (options.metadataPath().isPresent() && !reg) {
            throw new DatasetException("metadata_path cannot be used with the kohya N_name layout of '" + root + "': put a "
                    + MetadataCsv.FILE_NAME + " in each subset folder (names relative to it) or remove the key");
        }
        List<Part> parts = new ArrayList<>();
        for (KohyaSubset s : kohya.get()) {
            if (ImageFiles.list(s.dir()).isEmpty()) {
                warn.accept("subset folder '" + s.dir() + "' has no images: ignored");
                continue;
            }
            subsets.add(s);
            parts.add(new Part(s.dir(), (reg ? "reg/" : "") + s.folder() + "/", s.classTokens(), subsets.size() - 1,
                    s.settings().metadataFile(), s.captionExtension(options)));
        }
        if (parts.isEmpty()) {
            String where = !options.subsets().isEmpty() ? (reg ? "the is_reg subsets" : "the subsets")
                    : (reg ? "reg_data_dir '" : "train_data_dir '") + root + "'";
            throw new DatasetException(where + " contain" + (options.subsets().isEmpty() ? "s" : "") + " no images"
                    + (options.subsets().isEmpty() ? " in its N_name subsets" : ""));
        }
        return parts;
    }

    private Result run(Path root, boolean reg) {
        List<KohyaSubset> subsets = new ArrayList<>();
        List<Part> parts = parts(root, reg, subsets);
        List<Measured> toMeasure = new ArrayList<>();
        boolean hasCsv = false;
        List<Measured> listed = new ArrayList<>();
        for (Part part : parts) {
            ImageFolder folder = ImageFolder.open(part.dir(), part.metadata(), part.captionExtension(), part.classTokens());
            hasCsv |= folder.metadataFile().isPresent();
            for (ImageFolder.Image image : folder.images()) {
                listed.add(new Measured(image, part.prefix() + image.name(), part.dir().resolve(image.name()), null, null,
                        0, 0, part.subset()));
            }
        }
        toMeasure.addAll(listed);
        List<Measured> measured = IntStream.range(0, toMeasure.size()).parallel()
                .mapToObj(i -> measure(toMeasure.get(i))).toList();
        int total = measured.size();
        List<Measured> bad = measured.stream().filter(m -> m.error() != null).toList();
        checkUnreadable(bad, total);

        BucketPlan plan = options.buckets();
        List<ImageExample> examples = new ArrayList<>();
        List<ImageProblem> problems = new ArrayList<>();
        List<String> uncaptioned = new ArrayList<>();
        List<Integer> subsetOf = new ArrayList<>();
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
            subsetOf.add(m.subset());
        }
        warnTooSmall(named(problems, ImageProblem.Kind.TOO_SMALL));
        warnCropped(named(problems, ImageProblem.Kind.CROPPED));
        if (examples.isEmpty()) {
            throw new DatasetException("train_data_dir '" + dir + "' has no usable images: every image is unreadable"
                    + " or too small; fix or replace them");
        }
        checkCaptions(uncaptioned, examples.size(), hasCsv);
        return new Result(examples, problems, subsetOf.stream().mapToInt(Integer::intValue).toArray(), List.copyOf(subsets));
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

    private Measured measure(Measured listed) {
        Path file = listed.file();
        ImageFolder.Image image = listed.image();
        try {
            BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
            // A full decode, not just the header: truncated files must be found now, not mid-training.
            RgbaImage pixels = ImageDecoder.decode(file);
            return new Measured(image, listed.name(), file, new PixelSize(pixels.width(), pixels.height()), null,
                    attrs.lastModifiedTime().toMillis(), attrs.size(), listed.subset());
        } catch (ImageDecoder.UnreadableImageException | IOException e) {
            return new Measured(image, listed.name(), file, null, e.getMessage(), 0, 0, listed.subset());
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
