package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ConfigLoader;
import org.lorascripts.config.TrainConfig;

/**
 * A kohya dataset config (src/test/resources/kohya/dataset.toml, read through args.toml) trains as kohya's
 * DreamBoothDataset counts it (library/train_util.py): each subset's images x num_repeats, the is_reg subset's
 * images matched to the train images, and each subset with its own caption and augmentation settings.
 */
class KohyaDatasetConfigTest {
    @TempDir Path dir;

    private TrainConfig config() throws IOException {
        for (String n : new String[] {"args.toml", "dataset.toml"}) {
            try (InputStream in = getClass().getResourceAsStream("/kohya/" + n)) {
                Files.copy(in, dir.resolve(n));
            }
        }
        for (int i = 0; i < 3; i++) KohyaDatasetTest.png(dir.resolve("img/style/s" + i + ".png"), i);
        Files.writeString(dir.resolve("img/style/s0.txt"), "mystyle, red, square, big, flat");
        Files.writeString(dir.resolve("img/style/s1.txt"), "mystyle, blue, square, big, flat");
        for (int i = 0; i < 2; i++) {
            KohyaDatasetTest.png(dir.resolve("img/extra/e" + i + ".png"), 10 + i);
            Files.writeString(dir.resolve("img/extra/e" + i + ".txt"), "sks, cat, a, b, c, d");
        }
        Files.writeString(dir.resolve("img/extra/e0.caption"), "not read: caption_extension is .txt");
        for (int i = 0; i < 4; i++) KohyaDatasetTest.png(dir.resolve("reg/person/p" + i + ".png"), 20 + i);
        return ConfigLoader.load(dir.resolve("args.toml"), List.of()).config();
    }

    @Test
    void imagesTimesRepeatsAsKohyaCountsThem() throws IOException {
        List<String> warnings = new ArrayList<>();
        ImageCaptionDataset ds = ImageCaptionDataset.open(ImageDatasetOptions.of(config()), warnings::add);
        assertEquals(List.of(), warnings);
        assertEquals(9, ds.size());
        // kohya: num_train_images = 3 x 10 (img/style) + 2 x 3 (img/extra) = 36; num_reg_images = 4 x 1 = 4,
        // fewer than 36, so the reg images are repeated: 4 in the first pass, then one more each, in order,
        // until 36: every reg image 9 times
        assertEquals(36, ds.trainImagesWithRepeats());
        assertEquals(4, ds.regImagesWithRepeats());
        assertEquals(36, ds.regExamplesPerEpoch());
        assertEquals(72, ds.examplesPerEpoch());
        for (int i = 0; i < ds.size(); i++) {
            String n = ds.example(i).name();
            assertEquals(n.startsWith("style/") ? 10 : n.startsWith("extra/") ? 3 : 9, ds.repeats(i), n);
            assertEquals(n.startsWith("reg/"), ds.isReg(i), n);
        }
        List<String> plan = ds.planLines();
        assertTrue(plan.contains("    style                3 images x 10 repeats = 30"), plan.toString());
        assertTrue(plan.contains("    extra                2 images x 3 repeats = 6"), plan.toString());
        assertTrue(plan.contains("    reg person           4 images x 1 repeat = 4"), plan.toString());
    }

    @Test
    void eachSubsetCaptionsAndAugmentsAsItSays() throws IOException {
        ImageCaptionDataset ds = ImageCaptionDataset.open(ImageDatasetOptions.of(config()), w -> { });
        Set<String> styleSecond = new HashSet<>(), extraThird = new HashSet<>();
        boolean extraFlipped = false;
        for (int i = 0; i < ds.size(); i++) {
            String n = ds.example(i).name();
            for (int epoch = 0; epoch < 20; epoch++) {
                String c = ds.caption(i, epoch);
                boolean flipped = ds.placement(i, epoch).flipped();
                if (n.equals("style/s2.png") || n.startsWith("reg/")) {
                    assertEquals(n.startsWith("reg/") ? "person" : "mystyle", c);   // class_tokens of images without a caption
                } else if (n.startsWith("style/")) {
                    assertTrue(c.startsWith("mystyle, "), c);                        // [general] keep_tokens = 1
                    styleSecond.add(c.split(", ")[1]);
                } else {
                    assertTrue(c.startsWith("sks, cat, "), c);                       // the subset's keep_tokens = 2
                    extraThird.add(c.split(", ")[2]);
                    extraFlipped |= flipped;
                }
                if (!n.startsWith("extra/")) assertFalse(flipped, n);               // flip_aug only in img/extra
            }
        }
        assertTrue(styleSecond.size() > 1 && extraThird.size() > 1, styleSecond + " " + extraThird);   // shuffle_caption
        assertTrue(extraFlipped);
    }

    @Test
    void aMissingImageDirIsNamed() throws IOException {
        TrainConfig c = config();
        Files.move(dir.resolve("img/extra"), dir.resolve("img/moved"));
        DatasetException e = assertThrows(DatasetException.class, () -> ImageCaptionDataset.open(ImageDatasetOptions.of(c), w -> { }));
        assertEquals("subset image_dir '" + dir.resolve("img/extra") + "' does not exist or is not a folder: fix the path in subsets",
                e.getMessage());
    }
}
