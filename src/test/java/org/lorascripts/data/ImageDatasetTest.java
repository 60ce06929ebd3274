package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.Resolution;
import org.lorascripts.io.PngWriter;
import org.lorascripts.tensor.Tensor;

/** ImageCaptionDataset on PNG fixtures written per test. */
class ImageDatasetTest {
    @TempDir Path tmp;
    Path dir;
    final List<String> warnings = new ArrayList<>();

    /** Resolution 64 with steps 8 so that tiny fixtures get distinct buckets (72x56, 56x72, 64x64). */
    private static final BucketPlan PLAN = BucketPlan.bucketed(Resolution.square(64), 32, 128, 8, false);

    @BeforeEach
    void folder() throws IOException {
        dir = tmp.resolve("10_sks");
        Files.createDirectories(dir);
    }

    /** A PNG whose pixel (x, y) is (x * 3 + seed, y * 3, (x + y + seed) * 2) mod 256: no two columns alike. */
    private Path png(String name, int w, int h, int seed) throws IOException {
        byte[] px = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3;
                px[i] = (byte) (x * 3 + seed);
                px[i + 1] = (byte) (y * 3);
                px[i + 2] = (byte) ((x + y + seed) * 2);
            }
        }
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        PngWriter.write(p, px, w, h, PngWriter.Channels.RGB);
        return p;
    }

    private void text(String name, String content) throws IOException {
        Files.writeString(dir.resolve(name), content);
    }

    private ImageDatasetOptions options() {
        return ImageDatasetOptions.simple(dir, Resolution.square(64)).withBuckets(PLAN);
    }

    private ImageDatasetOptions withBadRatio(ImageDatasetOptions o, double ratio) {
        return new ImageDatasetOptions(o.trainDataDir(), o.metadataPath(), o.captionExtension(), o.buckets(),
                o.randomCrop(), o.flipAug(), o.captions(), o.seed(), ratio);
    }

    /** a 4:3, b 3:4, c square, d 4:3 without caption, bad.png not an image. */
    private void standardFolder() throws IOException {
        png("a.png", 64, 48, 1);
        png("b.png", 48, 64, 2);
        png("c.png", 64, 64, 3);
        png("d.png", 96, 72, 4);
        Files.write(dir.resolve("bad.png"), new byte[] {1, 2, 3, 4, 5});
        text("a.txt", "sks, cat, Smile\n");
        text("b.txt", "sks, dog");
        text("c.txt", "sks, cat");
    }

    @Test
    void opensAFolderMeasuresImagesAndWarnsAboutBadAndUncaptionedOnes() throws IOException {
        standardFolder();
        ImageCaptionDataset ds = ImageCaptionDataset.open(withBadRatio(options(), 0.25), warnings::add);
        assertEquals(List.of("a.png", "b.png", "c.png", "d.png"), ds.examples().stream().map(ImageExample::name).toList());
        assertEquals(new PixelSize(96, 72), ds.example(3).size());
        assertEquals("sks, cat, Smile", ds.example(0).caption());
        assertEquals("", ds.example(3).caption());
        for (ImageExample e : ds.examples()) assertEquals(PLAN.select(e.size().width(), e.size().height()), e.assignment());

        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("skipped 1 of 5 images in '" + dir + "' that cannot be read: bad.png;"
                + " first error: " + dir.resolve("bad.png")), warnings.get(0));
        assertEquals("1 of 4 images in '" + dir + "' have no caption and train with an empty one (as kohya does): d.png;"
                + " caption them with ./lora label --input " + dir + " --trigger WORD", warnings.get(1));

        // 4:3 -> 72x56 (ratio 1.286; 80x48 is 1.667), 3:4 -> 56x72, square -> 64x64.
        assertEquals(List.of(new BucketStats.Entry(new PixelSize(56, 72), 1), new BucketStats.Entry(new PixelSize(64, 64), 1),
                new BucketStats.Entry(new PixelSize(72, 56), 2)), ds.bucketStats().buckets());
        assertEquals(ds.bucketIndex(0), ds.bucketIndex(3));
        assertNotEquals(ds.bucketIndex(0), ds.bucketIndex(1));
        assertEquals("{\"10_sks\":{\"sks\":3,\"cat\":2,\"smile\":1,\"dog\":1}}", ds.tagFrequencyJson());
    }

    @Test
    void tooManyUnreadableImagesFail() throws IOException {
        standardFolder();
        Files.write(dir.resolve("worse.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, 0, 0});
        DatasetException e = assertThrows(DatasetException.class, () -> ImageCaptionDataset.open(options(), warnings::add));
        assertTrue(e.getMessage().startsWith("2 of 6 images in '" + dir + "' cannot be read (at most 10% may be skipped):"
                + " bad.png, worse.jpg; first error: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; fix or delete them"), e.getMessage());
    }

    @Test
    void missingEmptyAndUncaptionedFoldersAreClearErrors() throws IOException {
        Path nowhere = tmp.resolve("nope");
        DatasetException missing = assertThrows(DatasetException.class, () -> ImageCaptionDataset.open(
                ImageDatasetOptions.simple(nowhere, Resolution.square(64)), warnings::add));
        assertEquals("train_data_dir '" + nowhere + "' does not exist: put the training images there or fix the path"
                + " (relative paths are relative to the config file)", missing.getMessage());

        text("notes.txt", "not an image");
        DatasetException empty = assertThrows(DatasetException.class, () -> ImageCaptionDataset.open(options(), warnings::add));
        assertEquals("train_data_dir '" + dir + "' contains no images: supported extensions are .bmp, .jpeg, .jpg, .png,"
                + " .webp (sub-folders are searched too; hidden ones are skipped)", empty.getMessage());

        png("x.png", 40, 40, 0);
        png("sub/y.png", 40, 40, 0);
        text("sub/y.txt", "   \n");
        DatasetException none = assertThrows(DatasetException.class, () -> ImageCaptionDataset.open(options(), warnings::add));
        assertEquals("none of the 2 images in '" + dir + "' has a caption (looked in .txt files beside the images):"
                + " caption them with ./lora label --input " + dir + " --trigger WORD", none.getMessage());
    }

    @Test
    void captionsComeFromMetadataCsvThenCaptionFiles() throws IOException {
        png("a.png", 64, 48, 1);
        png("sub/b.png", 48, 64, 2);
        png("c.png", 64, 64, 3);
        text("metadata.csv", "file_name,text\n./a.png,\"sks, from csv\"\nsub\\b.png,sks b\nc.png,\n");
        text("a.caption", "ignored: the csv has a");
        text("c.caption", "sks, c from file");
        ImageDatasetOptions o = new ImageDatasetOptions(dir, Optional.empty(), ".caption", PLAN, false, false,
                CaptionProcessor.NONE, 0, 0.1);
        ImageCaptionDataset ds = ImageCaptionDataset.open(o, warnings::add);
        assertEquals(List.of("a.png", "c.png", "sub/b.png"), ds.examples().stream().map(ImageExample::name).toList());
        assertEquals("sks, from csv", ds.example(0).caption());   // "./a.png" in the csv; the csv wins over a.caption
        assertEquals("sks, c from file", ds.example(1).caption());   // empty csv text falls back to c.caption
        assertEquals("sks b", ds.example(2).caption());   // "sub\\b.png" in the csv
        assertEquals(List.of(), warnings);

        Path outside = tmp.resolve("elsewhere.csv");
        Files.writeString(outside, "file_name,text\nc.png,only c\n");
        ImageCaptionDataset external = ImageCaptionDataset.open(o.withMetadata(outside), warnings::add);
        assertEquals("only c", external.example(1).caption());
        assertEquals(1, warnings.size(), "a and sub/b have no caption in elsewhere.csv nor a .caption file");

        Path gone = tmp.resolve("gone.csv");
        DatasetException e = assertThrows(DatasetException.class, () -> ImageCaptionDataset.open(o.withMetadata(gone), warnings::add));
        assertEquals("metadata_path '" + gone + "' does not exist: fix the path or remove the key to use caption files"
                + " beside the images", e.getMessage());
    }

    @Test
    void theDryRunCountsTheImagesAndCaptionsTrainingUses() throws IOException {
        png("a.png", 64, 48, 1);
        png("sub/b.png", 48, 64, 2);
        png("c.png", 64, 64, 3);
        png("d.PNG", 64, 64, 4);
        png(".cache/e.png", 64, 64, 5);
        text("metadata.csv", "file_name,text\n./a.png,\"sks, from csv\"\nsub\\b.png,sks b\nc.png,   \ngone.png,x\n");
        text("c.txt", "\uFEFF sks, c from file\n");
        text("d.txt", "\uFEFF\n");   // a BOM and nothing else is no caption, for both
        ImageDatasetStats stats = DatasetScan.images(dir, null, ".txt");
        ImageCaptionDataset ds = ImageCaptionDataset.open(options(), warnings::add);

        assertEquals(List.of("a.png", "c.png", "d.PNG", "sub/b.png"), stats.images());
        assertEquals(stats.images(), ds.examples().stream().map(ImageExample::name).toList());
        assertEquals(2, stats.fromMetadata());
        assertEquals(1, stats.fromCaptionFiles());
        assertEquals(List.of("d.PNG"), stats.missingCaptions());
        assertEquals(List.of("gone.png"), stats.orphanMetadataRows());
        assertEquals(List.of("sks, from csv", "sks, c from file", "", "sks b"),
                ds.examples().stream().map(ImageExample::caption).toList());
    }

    @Test
    void loadsOneBucketBatchNormalisedAndDeterministic() throws IOException {
        standardFolder();
        text("d.txt", "sks, cat, big");
        ImageDatasetOptions plain = withBadRatio(options(), 0.25);
        ImageCaptionDataset ds = ImageCaptionDataset.open(plain, warnings::add);
        int[] wide = {3, 0};   // a and d share 72x56
        try (ImageBatch b = ds.load(wide, 0); ImageBatch again = ds.load(wide, 0)) {
            assertArrayEquals(new long[] {2, 3, 56, 72}, b.pixels().shape());
            assertEquals(new PixelSize(72, 56), b.bucket());
            assertEquals(List.of("sks, cat, big", "sks, cat, Smile"), b.captions());
            float[] v = b.pixels().toFloatArray();
            for (float f : v) assertTrue(f >= -1 && f <= 1, "out of range " + f);
            assertArrayEquals(v, again.pixels().toFloatArray());
        }
        IllegalArgumentException mixed = assertThrows(IllegalArgumentException.class, () -> ds.load(new int[] {0, 1}, 0));
        assertTrue(mixed.getMessage().startsWith("batch mixes buckets 72x56 and 56x72"), mixed.getMessage());

        // With flip_aug, a flipped example is exactly the mirror image of the unflipped one.
        ImageCaptionDataset flipping = ImageCaptionDataset.open(
                plain.withAugmentation(false, true, CaptionProcessor.NONE), w -> { });
        int flippedSeen = 0;
        for (int epoch = 0; epoch < 6; epoch++) {
            for (int i = 0; i < ds.size(); i++) {
                boolean flipped = flipping.placement(i, epoch).flipped();
                try (ImageBatch f = flipping.load(new int[] {i}, epoch); ImageBatch p = ds.load(new int[] {i}, epoch);
                     Tensor mirrored = p.pixels().flip(3)) {
                    assertArrayEquals((flipped ? mirrored : p.pixels()).toFloatArray(), f.pixels().toFloatArray());
                }
                if (flipped) flippedSeen++;
            }
        }
        assertTrue(flippedSeen > 3 && flippedSeen < 21, "about half of 24 loads flip, saw " + flippedSeen);

        for (int[] batch : ds.sampler(3).batches(1)) {
            try (ImageBatch b = ds.load(batch, 1)) {
                assertEquals(batch.length, b.pixels().size(0));
            }
        }
    }

    @Test
    void aPrefetchedBatchEqualsOneReadInPlace() throws IOException {
        standardFolder();
        text("d.txt", "sks, cat, big");
        ImageCaptionDataset ds = ImageCaptionDataset.open(withBadRatio(options(), 0.25).withAugmentation(true, true, CaptionProcessor.NONE), w -> { });
        ImageCaptionDataset hinted = ImageCaptionDataset.open(withBadRatio(options(), 0.25).withAugmentation(true, true, CaptionProcessor.NONE), w -> { });
        int[] wide = {3, 0};   // a and d share 72x56
        for (int epoch = 0; epoch < 4; epoch++) {
            hinted.prefetch(wide, epoch);
            long hits = hinted.prefetchHits();
            if (epoch == 2) hinted.prefetch(wide, 7);   // a hint for another epoch's crops is not taken for this one
            try (ImageBatch want = ds.load(wide, epoch); ImageBatch got = hinted.load(wide, epoch)) {
                assertArrayEquals(want.pixels().toFloatArray(), got.pixels().toFloatArray(), "epoch " + epoch);
                assertArrayEquals(want.pixels().shape(), got.pixels().shape());
                assertEquals(want.captions(), got.captions());
            }
            assertEquals(hits + 2, hinted.prefetchHits(), "both images came from the prefetch");
        }
        // a failure in the background surfaces at load, as the same error a read in place gives
        png("c.png", 32, 32, 3);
        hinted.prefetch(new int[] {2}, 0);
        DatasetException e = assertThrows(DatasetException.class, () -> hinted.load(new int[] {2}, 0));
        assertTrue(e.getMessage().contains("changed during training"), e.getMessage());
    }

    @Test
    void captionsAreAugmentedPerEpoch() throws IOException {
        png("a.png", 64, 64, 1);
        text("a.txt", "sks, one, two, three, four, five");
        ImageCaptionDataset ds = ImageCaptionDataset.open(
                options().withAugmentation(false, false, new CaptionProcessor(true, 1, 0, 0)), warnings::add);
        List<String> perEpoch = new ArrayList<>();
        for (int epoch = 0; epoch < 8; epoch++) {
            String c = ds.caption(0, epoch);
            assertTrue(c.startsWith("sks, "), c);
            assertEquals(c, ds.caption(0, epoch));
            perEpoch.add(c);
        }
        assertTrue(perEpoch.stream().distinct().count() > 3, perEpoch.toString());
    }

    @Test
    void cacheKeyFollowsTheFileAndIsRefusedWithRandomCrop() throws IOException {
        png("a.png", 64, 48, 1);
        text("a.txt", "sks");
        ImageCaptionDataset ds = ImageCaptionDataset.open(options(), warnings::add);
        String key = ds.cacheKey(0);
        assertTrue(key.startsWith(dir.resolve("a.png").toAbsolutePath() + "|mtime="), key);
        // trim 3 -> 3 // 2 = 1; a cache made with another resize filter is not reused
        assertTrue(key.endsWith("|bucket=72x56|resized=75x56|crop=1,0|flip=false|resample=" + ImageTransform.RESAMPLE), key);
        assertEquals(key, ImageCaptionDataset.open(options(), warnings::add).cacheKey(0));

        Files.setLastModifiedTime(dir.resolve("a.png"), FileTime.fromMillis(1_000_000));
        assertNotEquals(key, ImageCaptionDataset.open(options(), warnings::add).cacheKey(0));

        ImageCaptionDataset cropping = ImageCaptionDataset.open(
                options().withAugmentation(true, false, CaptionProcessor.NONE), warnings::add);
        DatasetException e = assertThrows(DatasetException.class, () -> cropping.cacheKey(0));
        assertEquals("cache_latents cannot be used with random_crop: true (each epoch transforms the image differently,"
                + " so a latent cached once would be stale; kohya refuses this too): set cache_latents: false or"
                + " random_crop: false", e.getMessage());
    }

    @Test
    void noUpscaleSkipsImagesSmallerThanOneStep() throws IOException {
        png("tiny.png", 6, 40, 0);
        png("ok.png", 50, 30, 0);
        text("tiny.txt", "sks");
        text("ok.txt", "sks");
        BucketPlan noUp = BucketPlan.bucketed(Resolution.square(64), 32, 128, 8, true);
        ImageCaptionDataset ds = ImageCaptionDataset.open(options().withBuckets(noUp), warnings::add);
        assertEquals(1, ds.size());
        assertEquals(new PixelSize(48, 24), ds.example(0).assignment().bucket());
        assertEquals(List.of("skipped 1 image in '" + dir + "' smaller than bucket_reso_steps 8 (bucket_no_upscale never"
                + " enlarges them): tiny.png (6x40)"), warnings);
    }

    /** SD 1.5's defaults: 512, buckets 256..1024 in steps of 64 (aspect ratios 1:4 to 4:1). */
    private static final BucketPlan SD15 = BucketPlan.bucketed(Resolution.square(512), 256, 1024, 64, false);

    /** A JPEG with detail in every row, cut in half: the decoder used to fill the lost rows with gray. */
    private void truncatedJpeg(String name) throws IOException {
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(64, 64, java.awt.image.BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) img.setRGB(x, y, (x * y * 31) ^ (x << 8) ^ y);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(img, "jpg", out);
        byte[] jpeg = out.toByteArray();
        Files.write(dir.resolve(name), java.util.Arrays.copyOf(jpeg, jpeg.length / 2));
    }

    private List<String> names(ImageCaptionDataset ds) {
        return ds.examples().stream().map(ImageExample::name).toList();
    }

    @Test
    void aTruncatedJpegIsSkippedByName() throws IOException {
        for (int i = 0; i < 9; i++) {
            png("ok" + i + ".png", 64, 64, i);
            text("ok" + i + ".txt", "sks");
        }
        truncatedJpeg("cut.jpg");
        text("cut.txt", "sks");
        ImageCaptionDataset ds = ImageCaptionDataset.open(options(), warnings::add);
        assertEquals(9, ds.size());
        assertTrue(!names(ds).contains("cut.jpg"), names(ds).toString());
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.getFirst().startsWith("skipped 1 of 10 images in '" + dir + "' that cannot be read: cut.jpg;"
                + " first error: " + dir.resolve("cut.jpg") + ": corrupt or truncated image ("), warnings.getFirst());
        assertEquals(List.of("cut.jpg"), ds.problems().stream().map(ImageProblem::name).toList());
        assertEquals(ImageProblem.Kind.UNREADABLE, ds.problems().getFirst().kind());
    }

    @Test
    void aOneByOneImageAndA4000x10StripAreSkippedByName() throws IOException {
        png("photo.png", 512, 384, 0);
        png("one.png", 1, 1, 0);
        png("wide.png", 4000, 10, 0);
        for (String n : List.of("photo", "one", "wide")) text(n + ".txt", "sks");
        ImageCaptionDataset ds = ImageCaptionDataset.open(options().withBuckets(SD15), warnings::add);
        assertEquals(List.of("photo.png"), names(ds));
        assertEquals(List.of("skipped 2 images in '" + dir + "' too small for their bucket (enlarged more than 8x an"
                + " image trains on interpolation): one.png (1x1: enlarged 512x for its 512x512 bucket), wide.png"
                + " (4000x10: enlarged 25.6x and cropped to 1% for its 1024x256 bucket); use larger images"), warnings);
        assertEquals(List.of(new ImageProblem("one.png", ImageProblem.Kind.TOO_SMALL, "1x1: enlarged 512x for its 512x512 bucket"),
                new ImageProblem("wide.png", ImageProblem.Kind.TOO_SMALL,
                        "4000x10: enlarged 25.6x and cropped to 1% for its 1024x256 bucket")), ds.problems());

        // Without buckets both are enlarged to cover the resolution: skipped as well.
        warnings.clear();
        ImageCaptionDataset fixed = ImageCaptionDataset.open(options().withBuckets(BucketPlan.fixed(Resolution.square(512))),
                warnings::add);
        assertEquals(List.of("photo.png"), names(fixed));
        assertEquals(List.of("one.png", "wide.png"), fixed.problems().stream().filter(ImageProblem::skipped)
                .map(ImageProblem::name).toList());
    }

    @Test
    void anAspectRatioBeyondTheBucketsTrainsCroppedAndIsNamed() throws IOException {
        png("photo.png", 512, 384, 0);
        png("pano.png", 2000, 250, 0);   // 8:1 in buckets that end at 4:1: half of it is cut away
        text("photo.txt", "sks");
        text("pano.txt", "sks");
        ImageCaptionDataset ds = ImageCaptionDataset.open(options().withBuckets(SD15), warnings::add);
        assertEquals(List.of("pano.png", "photo.png"), names(ds));
        assertEquals(new PixelSize(1024, 256), ds.example(0).assignment().bucket());
        assertEquals(List.of("1 image in '" + dir + "' loses more than 20% to the crop into its bucket (the buckets hold"
                + " aspect ratios 1:4 to 4:1): pano.png (2000x250: cropped to 50% for its 1024x256 bucket); crop or split"
                + " them so that each caption describes what trains"), warnings);
        assertEquals(List.of(new ImageProblem("pano.png", ImageProblem.Kind.CROPPED,
                "2000x250: cropped to 50% for its 1024x256 bucket")), ds.problems());
    }

    @Test
    void noUpscaleSkipsOneByOneAndStripsAsSmallerThanOneStep() throws IOException {
        png("photo.png", 512, 384, 0);
        png("one.png", 1, 1, 0);
        png("wide.png", 4000, 10, 0);
        for (String n : List.of("photo", "one", "wide")) text(n + ".txt", "sks");
        BucketPlan noUp = BucketPlan.bucketed(Resolution.square(512), 256, 1024, 64, true);
        ImageCaptionDataset ds = ImageCaptionDataset.open(options().withBuckets(noUp), warnings::add);
        assertEquals(List.of("photo.png"), names(ds));
        assertEquals(List.of("skipped 2 images in '" + dir + "' smaller than bucket_reso_steps 64 (bucket_no_upscale never"
                + " enlarges them): one.png (1x1), wide.png (4000x10)"), warnings);
    }
}
