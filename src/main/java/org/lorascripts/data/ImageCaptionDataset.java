package org.lorascripts.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.lorascripts.io.image.ImageDecoder;
import org.lorascripts.io.image.RgbaImage;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * The image + caption dataset of Stable Diffusion LoRA training, with kohya sd-scripts' behaviour
 * (library/train_util.py: {@code DreamBoothDataset}/{@code FineTuningDataset} over a
 * {@code BucketManager}): one example per image of train_data_dir, captioned from metadata.csv or a
 * caption file; aspect-ratio buckets; per-step crop, flip and caption augmentation. Sizes are
 * measured once when opened; pixels are decoded again for every batch.
 *
 * <p>Every random choice is a function of (seed, epoch, example index), see {@link ExampleRandom},
 * so loading the same indices for the same epoch always gives the same batch.
 */
public final class ImageCaptionDataset {
    private final ImageDatasetOptions options;
    private final List<ImageExample> examples;
    private final List<ImageProblem> problems;
    private final BucketStats stats;
    private final int[] bucketOfExample;   // index into stats.buckets()
    private final int trainImages;         // examples [0, trainImages) train; the rest are regularization images
    private final int[] repeats;           // per example: times per epoch (kohya's num_repeats; 0 = unused reg image)
    private final List<Subset> subsets;    // kohya layout: train subsets then reg subsets; empty for a plain folder
    private final int[] subsetOfExample;   // index into subsets, -1 in a plain folder
    private final Prefetcher<Ahead, float[]> ahead = new Prefetcher<>(Prefetcher.defaultThreads(), PREFETCH_IMAGES);
    /** Prefetched images that may wait (the next step's; a 1024x1024 image is 12 MiB as floats). */
    static final int PREFETCH_IMAGES = 32;
    private static final boolean PREFETCH_OFF = org.lorascripts.tensor.EnvSwitch.off("LORA_PREFETCH");
    private final java.util.concurrent.atomic.AtomicLong prefetchHits = new java.util.concurrent.atomic.AtomicLong();

    /** A kohya subset and how many of its images train (img_count, kohya's count after loading). */
    public record Subset(KohyaSubset subset, int images) {
        /** images x repeats. */
        public int perEpoch() {
            return images * subset.repeats();
        }
    }

    private ImageCaptionDataset(ImageDatasetOptions options, ImageCaptionScan.Result scan, ImageCaptionScan.Result reg) {
        List<ImageExample> examples = new ArrayList<>(scan.examples());
        this.trainImages = examples.size();
        List<Subset> subsets = new ArrayList<>();
        int[] trainCounts = new int[scan.subsets().size()];
        for (int s : scan.subsetOf()) if (s >= 0) trainCounts[s]++;
        for (int s = 0; s < trainCounts.length; s++) subsets.add(new Subset(scan.subsets().get(s), trainCounts[s]));
        List<Integer> reps = new ArrayList<>();
        List<Integer> subsetOf = new ArrayList<>();
        for (int s : scan.subsetOf()) {
            reps.add(s < 0 ? 1 : scan.subsets().get(s).repeats());
            subsetOf.add(s);
        }
        List<ImageProblem> problems = new ArrayList<>(scan.problems());
        if (reg != null) {
            examples.addAll(reg.examples());
            problems.addAll(reg.problems());
            int[] regCounts = new int[reg.subsets().size()];
            for (int s : reg.subsetOf()) regCounts[s]++;
            for (int s = 0; s < regCounts.length; s++) subsets.add(new Subset(reg.subsets().get(s), regCounts[s]));
            for (int s : reg.subsetOf()) subsetOf.add(trainCounts.length + s);
            long train = reps.stream().mapToLong(Integer::longValue).sum();
            int[] own = java.util.Arrays.stream(reg.subsetOf()).map(s -> reg.subsets().get(s).repeats()).toArray();
            for (int r : KohyaLayout.regRepeats(own, train)) reps.add(r);
        }
        this.subsets = List.copyOf(subsets);
        this.subsetOfExample = subsetOf.stream().mapToInt(Integer::intValue).toArray();
        this.repeats = reps.stream().mapToInt(Integer::intValue).toArray();
        this.options = options;
        this.examples = List.copyOf(examples);
        this.problems = List.copyOf(problems);
        this.stats = BucketStats.of(examples.stream().map(ImageExample::assignment).toList());
        List<PixelSize> order = stats.buckets().stream().map(BucketStats.Entry::resolution).toList();
        this.bucketOfExample = examples.stream().mapToInt(e -> order.indexOf(e.assignment().bucket())).toArray();
    }

    /**
     * Scans the folder. Recoverable problems (a few unreadable images, images too small for their bucket
     * or cropped hard, images without a caption) go to {@code warn} as one line each; the rest throw
     * {@link DatasetException}.
     */
    public static ImageCaptionDataset open(ImageDatasetOptions options, Consumer<String> warn) {
        ImageCaptionScan.Result train = ImageCaptionScan.scan(options, warn);
        ImageCaptionScan.Result reg;
        if (!options.subsets().isEmpty()) {
            reg = options.subsets().stream().anyMatch(KohyaSubset::reg)
                    ? ImageCaptionScan.scanReg(options, options.trainDataDir(), warn) : null;
        } else {
            reg = options.regDataDir().map(d -> ImageCaptionScan.scanReg(options, d, warn)).orElse(null);
        }
        return new ImageCaptionDataset(options, train, reg);
    }

    /** Whether train_data_dir has kohya's N_name layout. */
    public boolean isKohyaLayout() {
        return !subsets.isEmpty() && !subsets.getFirst().subset().reg();
    }

    /** The kohya subsets (train ones, then reg ones) with their image counts; empty for a plain folder. */
    public List<Subset> subsets() {
        return subsets;
    }

    /** Examples [0, trainImageCount()) are training images, the rest regularization images. */
    public int trainImageCount() {
        return trainImages;
    }

    public boolean isReg(int index) {
        return index >= trainImages;
    }

    /** How many times example {@code index} trains per epoch (kohya's num_repeats; reg images matched to the train set). */
    public int repeats(int index) {
        return repeats[index];
    }

    /** kohya's num_train_images: the train images x their repeats. */
    public int trainImagesWithRepeats() {
        int n = 0;
        for (int i = 0; i < trainImages; i++) n += repeats[i];
        return n;
    }

    /** kohya's num_reg_images: the reg images x their subsets' repeats (before matching to the train set). */
    public int regImagesWithRepeats() {
        return subsets.stream().filter(s -> s.subset().reg()).mapToInt(Subset::perEpoch).sum();
    }

    /** The reg examples per epoch after kohya's matching. */
    public int regExamplesPerEpoch() {
        int n = 0;
        for (int i = trainImages; i < repeats.length; i++) n += repeats[i];
        return n;
    }

    /** Examples per epoch: every example times its repeats. */
    public int examplesPerEpoch() {
        int n = 0;
        for (int r : repeats) n += r;
        return n;
    }

    /**
     * The dry run's and the training log's plan of a kohya dataset: per subset "images x repeats = N", the reg
     * images as kohya matches them to the train set, and the total per epoch. Empty for a plain folder
     * without reg_data_dir.
     */
    public List<String> planLines() {
        if (subsets.isEmpty()) return List.of();
        List<String> lines = new ArrayList<>();
        if (!options.subsets().isEmpty()) {
            lines.add(String.format("  %-22s %s", "subsets", options.subsets().size() + " (images x num_repeats per epoch)"));
        } else if (isKohyaLayout()) {
            lines.add(String.format("  %-22s %s", "kohya layout", "N_name subsets of train_data_dir (N = repeats per epoch)"));
        }
        for (Subset s : subsets) {
            String label = (s.subset().reg() ? "reg " : "") + s.subset().folder();
            lines.add(String.format("    %-20s %d image%s x %d repeat%s = %d", label, s.images(), s.images() == 1 ? "" : "s",
                    s.subset().repeats(), s.subset().repeats() == 1 ? "" : "s", s.perEpoch()));
        }
        int train = trainImagesWithRepeats();
        if (size() > trainImages) {
            lines.add(String.format("  %-22s %d (matched to the %d train images as kohya does: %s)", "reg images per epoch",
                    regExamplesPerEpoch(), train, regExamplesPerEpoch() < regImagesWithRepeats() ? "some reg images unused"
                            : "reg images repeated"));
            lines.add(String.format("  %-22s %d (%d train + %d reg, reg loss x prior_loss_weight %s)", "images per epoch",
                    examplesPerEpoch(), train, regExamplesPerEpoch(), options.priorLossWeight()));
        } else {
            lines.add(String.format("  %-22s %d", "images per epoch", examplesPerEpoch()));
        }
        return lines;
    }

    /** The loss weight of example {@code index}: prior_loss_weight for a reg image, else 1. */
    public double lossWeight(int index) {
        return isReg(index) ? options.priorLossWeight() : 1.0;
    }

    public ImageDatasetOptions options() {
        return options;
    }

    /** The images left out (unreadable, too small) or cropped hard, as {@link #open} warned about them. */
    public List<ImageProblem> problems() {
        return problems;
    }

    public int size() {
        return examples.size();
    }

    public ImageExample example(int index) {
        return examples.get(index);
    }

    public List<ImageExample> examples() {
        return examples;
    }

    public BucketStats bucketStats() {
        return stats;
    }

    /** The position of example {@code index}'s bucket in {@link #bucketStats()}. */
    public int bucketIndex(int index) {
        return bucketOfExample[index];
    }

    /** Batches of {@code batchSize} within buckets, shuffled per epoch from the options' seed. */
    public BucketBatchSampler sampler(int batchSize) {
        return new BucketBatchSampler(bucketOfExample, repeats, batchSize, options.seed());
    }

    /** kohya's {@code ss_tag_frequency}: the raw captions' tags of the train images, keyed by the folder's name. */
    public String tagFrequencyJson() {
        Path name = options.trainDataDir().toAbsolutePath().normalize().getFileName();
        return new TagFrequency().add(name == null ? "" : name.toString(),
                examples.subList(0, trainImages).stream().map(ImageExample::caption).toList()).toJson();
    }

    /** The caption example {@code index} trains with in {@code epoch}. */
    public String caption(int index, int epoch) {
        ExampleRandom r = ExampleRandom.of(options.seed(), epoch, index, ExampleRandom.Purpose.CAPTION);
        return subsetOf(index).map(s -> s.captions(options)).orElse(options.captions()).process(examples.get(index).caption(), r);
    }

    /** Where example {@code index} is cropped, and whether it is flipped, in {@code epoch}. */
    public ImageTransform.Placement placement(int index, int epoch) {
        java.util.Optional<KohyaSubset> s = subsetOf(index);
        return ImageTransform.place(examples.get(index).assignment(), s.map(k -> k.randomCrop(options)).orElse(options.randomCrop()),
                s.map(k -> k.flipAug(options)).orElse(options.flipAug()), options.seed(), epoch, index);
    }

    /** The subset example {@code index} belongs to (empty in a plain folder). */
    private java.util.Optional<KohyaSubset> subsetOf(int index) {
        int s = subsetOfExample[index];
        return s < 0 ? java.util.Optional.empty() : java.util.Optional.of(subsets.get(s).subset());
    }

    /**
     * Decodes and transforms the examples of one batch. All indices must share a bucket (draw them
     * with {@link #sampler}). The caller closes the batch.
     */
    public ImageBatch load(int[] indices, int epoch) {
        if (indices.length == 0) throw new IllegalArgumentException("a batch needs at least one index");
        PixelSize bucket = examples.get(indices[0]).assignment().bucket();
        for (int i : indices) {
            PixelSize b = examples.get(i).assignment().bucket();
            if (!b.equals(bucket)) {
                throw new IllegalArgumentException("batch mixes buckets " + bucket + " and " + b + " (examples "
                        + indices[0] + " and " + i + "): draw batches with BucketBatchSampler");
            }
        }
        // Decoding and resizing are plain Java and the slow part: what prefetch started is taken, the rest runs in
        // parallel here; the tensor is made on this thread (scopes).
        int n = indices.length, size = 3 * bucket.width() * bucket.height();
        float[][] pixels = new float[n][];
        ImageTransform.Placement[] placements = new ImageTransform.Placement[n];
        for (int k = 0; k < n; k++) {
            placements[k] = placement(indices[k], epoch);
            pixels[k] = ahead.take(new Ahead(indices[k], placements[k])).orElse(null);
            if (pixels[k] != null) prefetchHits.incrementAndGet();
        }
        IntStream.range(0, n).parallel().filter(k -> pixels[k] == null)
                .forEach(k -> pixels[k] = read(indices[k], placements[k]));
        float[] all = new float[n * size];
        for (int k = 0; k < n; k++) System.arraycopy(pixels[k], 0, all, k * size, size);
        List<String> captions = new ArrayList<>(n);
        for (int k = 0; k < n; k++) captions.add(caption(indices[k], epoch));
        Tensor batch = Torch.of(all, n, 3, bucket.height(), bucket.width());   // (B, 3, H, W)
        return new ImageBatch(batch, List.copyOf(captions), bucket, indices.clone());
    }

    /** Images {@link #load} took from {@link #prefetch} instead of reading them in place. */
    public long prefetchHits() {
        return prefetchHits.get();
    }

    /** A prefetched image: the example and where it is cropped (and flipped) in the epoch it was read for. */
    private record Ahead(int index, ImageTransform.Placement placement) {}

    /**
     * Starts decoding and resizing these examples, as {@link #load} of {@code epoch} would, on background threads;
     * a later {@code load} of them takes the results instead of reading them again. A hint only: the batch's tensor
     * is the same either way. {@code LORA_PREFETCH=0} turns it off, to measure what it gives.
     */
    public void prefetch(int[] indices, int epoch) {
        if (PREFETCH_OFF) return;
        for (int i : indices) {
            ImageTransform.Placement p = placement(i, epoch);
            ahead.start(new Ahead(i, p), () -> read(i, p));
        }
    }

    /** Example {@code index} decoded and placed in its bucket, (3, H, W) floats: plain Java, on any thread. */
    private float[] read(int index, ImageTransform.Placement p) {
        return ImageTransform.pixels(decode(examples.get(index)), p);
    }

    private static RgbaImage decode(ImageExample e) {
        RgbaImage image;
        try {
            image = ImageDecoder.decode(e.file());
        } catch (ImageDecoder.UnreadableImageException ex) {
            throw new DatasetException(ex.getMessage() + " (it was readable when training started: restore the file)");
        }
        if (image.width() != e.size().width() || image.height() != e.size().height()) {
            throw new DatasetException(e.file() + " changed during training (was " + e.size() + ", now "
                    + image.width() + "x" + image.height() + "): restore it or restart training");
        }
        return image;
    }

    /**
     * A key for the VAE latents of example {@code index}: they depend on the file (path, modification
     * time, length), the bucket, the resize (its size and filter) and the crop. With random_crop or flip_aug the pixels
     * differ per epoch, so one cached latent per image would be wrong; kohya refuses
     * {@code cache_latents} with random_crop for the same reason ({@code is_latent_cacheable}).
     */
    public String cacheKey(int index) {
        requireCacheable();
        ImageExample e = examples.get(index);
        ImageTransform.Placement p = placement(index, 0);
        return e.file().toAbsolutePath().normalize() + "|mtime=" + e.modified() + "|bytes=" + e.fileBytes()
                + "|bucket=" + p.bucket() + "|resized=" + p.resized() + "|crop=" + p.cropLeft() + "," + p.cropTop()
                + "|flip=" + p.flipped() + "|resample=" + ImageTransform.RESAMPLE;
    }

    /** Throws when the options make per-image latent caching wrong. */
    public void requireCacheable() {
        List<String> on = augmentationsOn();
        if (!on.isEmpty()) {
            String aug = on.getFirst();
            throw new DatasetException("cache_latents cannot be used with " + aug + ": true (each epoch transforms the"
                    + " image differently, so a latent cached once would be stale; kohya refuses this too): set"
                    + " cache_latents: false or " + aug + ": false");
        }
    }

    private List<String> augmentationsOn() {
        List<String> on = new ArrayList<>();
        boolean crop = options.randomCrop(), flip = options.flipAug();
        if (!subsets.isEmpty()) {   // each subset may set its own
            crop = subsets.stream().anyMatch(s -> s.subset().randomCrop(options));
            flip = subsets.stream().anyMatch(s -> s.subset().flipAug(options));
        }
        if (crop) on.add("random_crop");
        if (flip) on.add("flip_aug");
        return on;
    }
}
