package org.lorascripts.label;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.models.blip.TinyBlip;
import org.lorascripts.tensor.Device;
import org.lorascripts.io.image.RgbaImage;
import org.lorascripts.data.CaptionFormat;
import org.lorascripts.data.CaptionStore;

/** The BLIP backend on a tiny random model written by TinyBlip: captions come out and the Labeler stores them. */
class BlipCaptionerTest {

    @Test
    void captionsEveryImageAndKeepsThePromptOut(@TempDir Path dir) {
        Path model = dir.resolve("blip");
        TinyBlip.writeFolder(model, 11);
        List<RgbaImage> images = List.of(RgbaImage.filled(40, 30, 0xFF0000), RgbaImage.filled(64, 64, 0x2080F0), RgbaImage.filled(9, 90, 0x00FF00));
        try (BlipCaptioner c = BlipCaptioner.open(model, new BlipCaptioner.Options(12, null, 1), Device.CPU)) {
            List<String> captions = c.captions(images);
            System.out.println("captions " + captions);
            assertEquals(3, captions.size());
            for (String caption : captions) assertFalse(caption.isEmpty(), "the tiny model with seed 11 says something");
            assertEquals(captions.subList(1, 2), c.captions(images.subList(1, 2)), "batching does not change a caption");
        }
        try (BlipCaptioner c = BlipCaptioner.open(model, new BlipCaptioner.Options(12, "a picture of", 2), Device.CPU)) {
            for (String caption : c.captions(images)) {
                System.out.println("prompted " + caption);
                assertFalse(caption.startsWith("a picture of"), caption);
            }
        }
    }

    @Test
    void labelsAFolderWithTheTriggerFirst(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("blip");
        TinyBlip.writeFolder(model, 11);
        Path images = Files.createDirectories(dir.resolve("images"));
        LabelFixtures.solidPng(images.resolve("a.png"), 40, 30, 0xFF0000);
        LabelFixtures.solidPng(images.resolve("b.png"), 64, 64, 0x2080F0);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (BlipCaptioner c = BlipCaptioner.open(model, new BlipCaptioner.Options(12, null, 1), Device.CPU)) {
            Labeler.Summary summary = new Labeler(c, new PrintStream(log, true, StandardCharsets.UTF_8))
                    .run(new Labeler.Options(images, CaptionFormat.TXT, null, "sks", false, 4));
            assertEquals(2, summary.labeled());
        }
        for (String name : List.of("a.txt", "b.txt")) {
            String caption = Files.readString(images.resolve(name));
            assertTrue(caption.startsWith("sks, ") && caption.length() > 5, caption);
        }
        Map<String, String> all = CaptionStore.open(images).captions();
        assertEquals(2, all.size());
    }

    @Test
    void missingFolderExplainsWhatIsNeeded(@TempDir Path dir) {
        var e = assertThrows(LabelException.class, () -> BlipCaptioner.open(dir.resolve("nope"), BlipCaptioner.Options.defaults()));
        assertTrue(e.getMessage().contains("BlipForConditionalGeneration"), e.getMessage());
        assertThrows(LabelException.class, () -> new BlipCaptioner.Options(1, null, 1));
        assertThrows(LabelException.class, () -> new BlipCaptioner.Options(30, null, 0));
    }
}
