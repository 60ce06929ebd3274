package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.Resolution;
import org.lorascripts.io.PngWriter;

/**
 * kohya sd-scripts' DreamBooth folder layout: {@code N_name} subsets repeat N times per epoch, uncaptioned
 * images take the class tokens, reg_data_dir images are matched to the train images per epoch.
 */
class KohyaDatasetTest {
    @TempDir Path dir;

    static void png(Path file, int seed) throws IOException {
        Files.createDirectories(file.getParent());
        int w = 32, h = 32;
        byte[] px = new byte[w * h * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 7 + seed * 31);
        PngWriter.write(file, px, w, h, PngWriter.Channels.RGB);
    }

    /** train: 10_mystyle (3 images, 2 with .txt), 2_other (2 images); reg: 1_person (4 images). */
    static Path[] layout(Path dir) throws IOException {
        Path train = dir.resolve("train");
        Path reg = dir.resolve("reg");
        for (int i = 0; i < 3; i++) png(train.resolve("10_mystyle/s" + i + ".png"), i);
        Files.writeString(train.resolve("10_mystyle/s0.txt"), "mystyle, a red square");
        Files.writeString(train.resolve("10_mystyle/s1.txt"), "mystyle, a blue square");
        for (int i = 0; i < 2; i++) png(train.resolve("2_other/o" + i + ".png"), 10 + i);
        for (int i = 0; i < 4; i++) png(reg.resolve("1_person/p" + i + ".png"), 20 + i);
        return new Path[] {train, reg};
    }

    private static ImageDatasetOptions options(Path train) {
        return ImageDatasetOptions.simple(train, Resolution.square(32))
                .withBuckets(BucketPlan.bucketed(Resolution.square(32), 32, 64, 8, false));
    }

    private static Map<String, String> captions(ImageCaptionDataset ds) {
        Map<String, String> m = new HashMap<>();
        for (ImageExample e : ds.examples()) m.put(e.name(), e.caption());
        return m;
    }

    @Test
    void subsetsRepeatAndUncaptionedImagesTakeTheClassTokens() throws IOException {
        Path[] d = layout(dir);
        List<String> warnings = new ArrayList<>();
        ImageCaptionDataset ds = ImageCaptionDataset.open(options(d[0]), warnings::add);
        assertTrue(ds.isKohyaLayout());
        assertEquals(List.of(), warnings);
        assertEquals(5, ds.size());
        assertEquals(3 * 10 + 2 * 2, ds.examplesPerEpoch());
        assertEquals(34, ds.trainImagesWithRepeats());
        Map<String, String> c = captions(ds);
        assertEquals("mystyle, a red square", c.get("10_mystyle/s0.png"));
        assertEquals("mystyle, a blue square", c.get("10_mystyle/s1.png"));
        assertEquals("mystyle", c.get("10_mystyle/s2.png"));
        assertEquals("other", c.get("2_other/o0.png"));
        // one epoch holds each image its subset's number of times
        List<int[]> batches = ds.sampler(4).batches(0);
        int[] seen = new int[ds.size()];
        for (int[] b : batches) for (int i : b) seen[i]++;
        for (int i = 0; i < ds.size(); i++) assertEquals(ds.example(i).name().startsWith("10_") ? 10 : 2, seen[i]);
        assertEquals((int) Math.ceil(34 / 4.0), ds.sampler(4).batchesPerEpoch());   // one 32x32 bucket
        assertEquals(List.of("  kohya layout           N_name subsets of train_data_dir (N = repeats per epoch)",
                "    10_mystyle           3 images x 10 repeats = 30",
                "    2_other              2 images x 2 repeats = 4",
                "  images per epoch       34"), ds.planLines());
    }

    @Test
    void classTokensAreEverythingAfterTheFirstUnderscore() throws IOException {
        png(dir.resolve("3_sks dog_v2/a.png"), 1);
        ImageCaptionDataset ds = ImageCaptionDataset.open(options(dir), w -> { });
        assertEquals("sks dog_v2", ds.example(0).caption());
        assertEquals(3, ds.repeats(0));
    }

    @Test
    void metadataCsvInASubsetFolderCaptions() throws IOException {
        png(dir.resolve("5_cat/a.png"), 1);
        png(dir.resolve("5_cat/b.png"), 2);
        Files.writeString(dir.resolve("5_cat/metadata.csv"), "file_name,text\na.png,a csv caption\n");
        Map<String, String> c = captions(ImageCaptionDataset.open(options(dir), w -> { }));
        assertEquals("a csv caption", c.get("5_cat/a.png"));
        assertEquals("cat", c.get("5_cat/b.png"));
    }

    @Test
    void otherFoldersAndLooseImagesAreIgnoredWithAWarning() throws IOException {
        png(dir.resolve("4_cat/a.png"), 1);
        png(dir.resolve("extra/b.png"), 2);
        png(dir.resolve("0_none/c.png"), 3);
        png(dir.resolve("loose.png"), 4);
        List<String> warnings = new ArrayList<>();
        ImageCaptionDataset ds = ImageCaptionDataset.open(options(dir), warnings::add);
        assertEquals(1, ds.size());
        assertEquals("4_cat/a.png", ds.example(0).name());
        assertEquals(3, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).startsWith("ignored folder '0_none' in train_data_dir '" + dir + "'"), warnings.toString());
        assertTrue(warnings.get(1).startsWith("ignored folder 'extra'"), warnings.toString());
        assertTrue(warnings.get(2).startsWith("ignored 1 image directly in train_data_dir '" + dir + "' (loose.png)"),
                warnings.toString());
    }

    @Test
    void aPlainFolderWithSubfoldersStaysPlain() throws IOException {
        png(dir.resolve("cats/a.png"), 1);
        png(dir.resolve("b.png"), 2);
        Files.writeString(dir.resolve("b.txt"), "b");
        Files.writeString(dir.resolve("cats/a.txt"), "a");
        ImageCaptionDataset ds = ImageCaptionDataset.open(options(dir), w -> { });
        assertFalse(ds.isKohyaLayout());
        assertEquals(2, ds.examplesPerEpoch());
        assertEquals(List.of(), ds.planLines());
        assertEquals(List.of("b.png", "cats/a.png"), ds.examples().stream().map(ImageExample::name).toList());
    }

    @Test
    void metadataPathIsRefusedWithTheKohyaLayout() throws IOException {
        Path[] d = layout(dir);
        Path csv = Files.writeString(dir.resolve("m.csv"), "file_name,text\n");
        DatasetException e = assertThrows(DatasetException.class,
                () -> ImageCaptionDataset.open(options(d[0]).withMetadata(csv), w -> { }));
        assertTrue(e.getMessage().startsWith("metadata_path cannot be used with the kohya N_name layout"), e.getMessage());
    }

    /**
     * kohya's counting (train_util.DreamBoothDataset): num_train_images = 3 x 10 + 2 x 2 = 34; num_reg_images =
     * 4 x 1 = 4. Fewer reg than train: the first pass registers the 4 reg images once (n = 4), later passes add one
     * repeat per image in order until n = 34: 7 more full passes (n = 32), then p0 and p1 once more. Repeats
     * p0..p3 = 9, 9, 8, 8: 34 reg examples per epoch, 68 in all.
     */
    @Test
    void regImagesAreMatchedToTheTrainImagesAsKohyaCountsThem() throws IOException {
        Path[] d = layout(dir);
        ImageCaptionDataset ds = ImageCaptionDataset.open(options(d[0]).withReg(Optional.of(d[1]), 0.5), w -> { });
        assertEquals(9, ds.size());
        assertEquals(5, ds.trainImageCount());
        int[] regRepeats = new int[4];
        for (int i = 5; i < 9; i++) regRepeats[i - 5] = ds.repeats(i);
        assertArrayEquals(new int[] {9, 9, 8, 8}, regRepeats);
        assertEquals(34, ds.trainImagesWithRepeats());
        assertEquals(4, ds.regImagesWithRepeats());
        assertEquals(34, ds.regExamplesPerEpoch());
        assertEquals(68, ds.examplesPerEpoch());
        assertEquals("person", ds.example(5).caption());
        assertEquals("reg/1_person/p0.png", ds.example(5).name());
        assertEquals(1.0, ds.lossWeight(0));
        assertEquals(0.5, ds.lossWeight(5));
        assertTrue(ds.planLines().contains("    reg 1_person         4 images x 1 repeat = 4"), ds.planLines().toString());
        assertTrue(ds.planLines().contains(
                "  images per epoch       68 (34 train + 34 reg, reg loss x prior_loss_weight 0.5)"), ds.planLines().toString());
    }

    /** More reg than train images: the first pass stops once it reaches them; the rest are unused that epoch. */
    @Test
    void kohyaRegCounting() {
        // train 34, reg 4 images x 1 repeat (the example above)
        assertArrayEquals(new int[] {9, 9, 8, 8}, KohyaLayout.regRepeats(new int[] {1, 1, 1, 1}, 34));
        // train 3, reg 5 images x 1: p0..p2 once, p3 and p4 unused
        assertArrayEquals(new int[] {1, 1, 1, 0, 0}, KohyaLayout.regRepeats(new int[] {1, 1, 1, 1, 1}, 3));
        // train 5, reg 2 images of a 2_ subset (repeats 2): first pass registers 2 + 2 = 4, then p0 once more
        assertArrayEquals(new int[] {3, 2}, KohyaLayout.regRepeats(new int[] {2, 2}, 5));
        // the first pass may overshoot: train 3, reg 2 images x 2 -> 2 + 2 = 4
        assertArrayEquals(new int[] {2, 2}, KohyaLayout.regRepeats(new int[] {2, 2}, 3));
        assertArrayEquals(new int[0], KohyaLayout.regRepeats(new int[0], 10));
    }

    @Test
    void aRegDirWithoutSubsetsIsAOneLineError() throws IOException {
        Path[] d = layout(dir);
        Path flat = dir.resolve("flat");
        png(flat.resolve("x.png"), 1);
        DatasetException e = assertThrows(DatasetException.class,
                () -> ImageCaptionDataset.open(options(d[0]).withReg(Optional.of(flat), 1.0), w -> { }));
        assertTrue(e.getMessage().startsWith("reg_data_dir '" + flat + "' has no N_name sub-folder"), e.getMessage());
    }

    @Test
    void theDryRunScanCountsSubsetsAndClassTokenCaptions() throws IOException {
        Path[] d = layout(dir);
        ImageDatasetStats s = DatasetScan.images(d[0], null, ".txt");
        assertEquals(5, s.imageCount());
        assertEquals(2, s.fromCaptionFiles());
        assertEquals(3, s.fromClassTokens());
        assertEquals(List.of(), s.missingCaptions());
    }
}
