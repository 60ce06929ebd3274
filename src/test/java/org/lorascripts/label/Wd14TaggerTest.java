package org.lorascripts.label;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.image.RgbaImage;

/**
 * The tiny fixture tagger outputs sigmoid(mean(B, G, R)/255 · W + b) (see LabelFixtures.WEIGHTS_BGR),
 * so for a solid colour the logits follow by hand. Logit per tag for colour (B, G, R) in 0..1:
 * red_background 6R-3G-3B-1.5, blue_background 6B-3G-3R-1.5, green_background 5G-3B-3R-1.25,
 * ^_^ B+G+R-1.7, hatsune_miku (character) 3B+3G-6R-1.5, simple_background 0.25, long_hair 2R-1,
 * ratings general +2 and sensitive -2.
 */
class Wd14TaggerTest {
    private static final TagSelection DEFAULTS = new TagSelection(0.35, 0.85, false);

    private static String caption(TagSelection selection, RgbaImage image) {
        try (Wd14Tagger tagger = Wd14Tagger.open(LabelFixtures.tinyTagger(), selection)) {
            return CaptionTags.join(tagger.tag(List.of(image)).getFirst());
        }
    }

    @Test
    void readsInputSizeFromTheModel() {
        try (Wd14Tagger tagger = Wd14Tagger.open(LabelFixtures.tinyTagger(), DEFAULTS)) {
            assertEquals(8, tagger.inputSize());
        }
    }

    @Test
    void redImage() {
        // R=1: red_background 4.5 (0.989), long_hair 1 (0.731), simple_background 0.25 (0.562),
        // ^_^ -0.7 (0.332 < 0.35, dropped).
        assertEquals("red background, long hair, simple background", caption(DEFAULTS, RgbaImage.filled(8, 8, 0xFF0000)));
    }

    @Test
    void kaomojiKeepsItsUnderscore() {
        // White: ^_^ 1.3 (0.786) > long_hair 1 (0.731) > simple_background (0.562); colour tags -1.5 or less.
        assertEquals("^_^, long hair, simple background", caption(DEFAULTS, RgbaImage.filled(8, 8, 0xFFFFFF)));
    }

    @Test
    void characterTagsComeFirst() {
        // Cyan (B=G=1): hatsune_miku 4.5 (0.989), blue 1.5 (0.818), green 0.75 (0.679), ^_^ 0.3 (0.574),
        // simple 0.25 (0.562); the character tag leads although it is not the csv's first tag.
        assertEquals("hatsune miku, blue background, green background, ^_^, simple background",
                caption(DEFAULTS, RgbaImage.filled(8, 8, 0x00FFFF)));
    }

    @Test
    void characterThresholdIsSeparate() {
        // B=G=128/255: hatsune_miku 6*0.502-1.5 = 1.512 (0.819): below 0.85 but above 0.8.
        // General: simple 0.25 (0.562) > blue 0.006 (0.501) > green -0.246 (0.439); ^_^ -0.696 (0.333) dropped.
        RgbaImage darkCyan = RgbaImage.filled(8, 8, 0x008080);
        assertEquals("simple background, blue background, green background", caption(DEFAULTS, darkCyan));
        assertEquals("hatsune miku, simple background, blue background, green background",
                caption(new TagSelection(0.35, 0.8, false), darkCyan));
    }

    @Test
    void generalThresholdDropsWeakTags() {
        // At 0.6 only red_background (0.989) and long_hair (0.731) of the red image remain.
        assertEquals("red background, long hair", caption(new TagSelection(0.6, 0.85, false), RgbaImage.filled(8, 8, 0xFF0000)));
    }

    @Test
    void ratingOnlyWhenAsked() {
        // general (0.881) beats sensitive (0.119); it goes first.
        assertEquals("general, red background, long hair, simple background",
                caption(new TagSelection(0.35, 0.85, true), RgbaImage.filled(8, 8, 0xFF0000)));
    }

    @Test
    void paddingIsPartOfTheInput() {
        // 8x4 red, padded with two white rows above and below: means B=G=0.5, R=1.
        // red 1.5 (0.818), long_hair 1 (0.731), ^_^ 0.3 (0.574), simple 0.25 (0.562).
        assertEquals("red background, long hair, ^_^, simple background", caption(DEFAULTS, RgbaImage.filled(8, 4, 0xFF0000)));
    }

    @Test
    void probabilitiesFollowTheModelFormulaForRandomImages() {
        // Random sizes and colours, batched: the model's outputs equal the formula applied to our
        // preprocessed input (the preprocessing itself is checked against Pillow in Wd14PreprocessorTest).
        Random rnd = new Random(7);
        List<RgbaImage> images = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            int w = 1 + rnd.nextInt(20);
            int h = 1 + rnd.nextInt(20);
            int[] px = new int[w * h];
            for (int j = 0; j < px.length; j++) px[j] = rnd.nextInt();
            images.add(new RgbaImage(w, h, px));
        }
        try (Wd14Tagger tagger = Wd14Tagger.open(LabelFixtures.tinyTagger(), DEFAULTS)) {
            float[][] got = tagger.predict(images);
            for (int i = 0; i < images.size(); i++) {
                double[] want = LabelFixtures.tinyTaggerProbabilities(Wd14Preprocessor.toBgr(images.get(i), 8));
                for (int t = 0; t < want.length; t++) assertEquals(want[t], got[i][t], 1e-5, "image " + i + " tag " + t);
            }
            // Batching must not change the answer.
            assertEquals(tagger.tag(images.subList(2, 3)).getFirst(), tagger.tag(images).get(2));
        }
    }

    @Test
    void equalProbabilitiesKeepCsvOrder() {
        List<SelectedTags.Tag> tags = List.of(new SelectedTags.Tag("b", 0), new SelectedTags.Tag("a", 0),
                new SelectedTags.Tag("c", 0));
        assertEquals(List.of("c", "b", "a"), DEFAULTS.select(tags, new float[] {0.5f, 0.5f, 0.9f}));
        // The threshold itself counts as reached.
        assertEquals(List.of("b"), DEFAULTS.select(tags, new float[] {0.35f, 0.3499f, 0.1f}));
    }

    @Test
    void folderWithoutSelectedTagsIsRejected(@TempDir Path dir) throws IOException {
        Files.copy(LabelFixtures.tinyTagger().resolve("model.onnx"), dir.resolve("model.onnx"));
        LabelException e = assertThrows(LabelException.class, () -> Wd14Tagger.open(dir, DEFAULTS));
        assertTrue(e.getMessage().contains("has no selected_tags.csv"), e.getMessage());
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    }

    @Test
    void tagCountMismatchIsRejected(@TempDir Path dir) throws IOException {
        Files.copy(LabelFixtures.tinyTagger().resolve("model.onnx"), dir.resolve("model.onnx"));
        Files.writeString(dir.resolve("selected_tags.csv"), "tag_id,name,category,count\n1,solo,0,5\n");
        LabelException e = assertThrows(LabelException.class, () -> Wd14Tagger.open(dir, DEFAULTS));
        assertTrue(e.getMessage().contains("9 outputs") && e.getMessage().contains("1 tags"), e.getMessage());
    }

    @Test
    void corruptModelIsOneLine(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("model.onnx"), "not a model");
        Files.copy(LabelFixtures.tinyTagger().resolve("selected_tags.csv"), dir.resolve("selected_tags.csv"));
        LabelException e = assertThrows(LabelException.class, () -> Wd14Tagger.open(dir, DEFAULTS));
        assertTrue(e.getMessage().startsWith(dir.resolve("model.onnx") + " could not be loaded"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }
}
