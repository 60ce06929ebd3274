package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.PngWriter;
import org.lorascripts.models.blip.TinyBlip;

/** {@code ./lora label --backend blip} on a tiny random BLIP folder. */
class BlipLabelCommandTest {

    private static void png(Path file, int r, int g, int b) throws Exception {
        byte[] px = new byte[20 * 16 * 3];
        for (int i = 0; i < px.length; i += 3) {
            px[i] = (byte) r;
            px[i + 1] = (byte) g;
            px[i + 2] = (byte) b;
        }
        PngWriter.write(file, px, 20, 16, PngWriter.Channels.RGB);
    }

    @Test
    void captionsAFolderIntoMetadataCsv(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("blip-tiny");
        TinyBlip.writeFolder(model, 11);
        Path images = Files.createDirectories(dir.resolve("images"));
        png(images.resolve("a.png"), 255, 0, 0);
        png(images.resolve("b.png"), 30, 200, 90);
        var r = LabelCommandTest.lora("label", "--input", images.toString(), "--backend", "blip", "--model", model.toString(),
                "--trigger", "ohwx", "--max-length", "12", "--prompt", "a picture of", "--beams", "2");
        assertEquals(0, r.code(), r.err());
        assertEquals("labeled 2, skipped 0 (already captioned), unreadable 0\n", r.out());
        String csv = Files.readString(images.resolve("metadata.csv"));
        assertTrue(csv.startsWith("file_name,text\n"), csv);
        for (String line : csv.strip().split("\n")) {
            if (line.startsWith("file_name")) continue;
            assertTrue(line.matches("[ab]\\.png,\"?ohwx, .+"), line);
        }
    }

    @Test
    void blipWithoutModelExitsTwo(@TempDir Path dir) throws Exception {
        png(dir.resolve("a.png"), 1, 2, 3);
        var r = LabelCommandTest.lora("label", "--input", dir.toString(), "--backend", "blip", "--model", "none");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--backend blip needs a captioner: leave out --model for Salesforce/blip-image-captioning-large"), r.err());
        var unknown = LabelCommandTest.lora("label", "--input", dir.toString(), "--backend", "clip", "--trigger", "x");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("use wd14 or blip"), unknown.err());
    }
}
