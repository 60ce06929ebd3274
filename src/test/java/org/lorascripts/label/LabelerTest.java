package org.lorascripts.label;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.data.CaptionFormat;
import org.lorascripts.data.MetadataCsv;

class LabelerTest {
    private static final TagSelection DEFAULTS = new TagSelection(0.35, 0.85, false);
    // Captions of the tiny tagger for these colours; derived by hand in Wd14TaggerTest.
    private static final String RED = "red background, long hair, simple background";
    private static final String WHITE = "^_^, long hair, simple background";
    private static final String CYAN = "hatsune miku, blue background, green background, ^_^, simple background";

    @TempDir Path dir;
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    @BeforeEach
    void images() throws IOException {
        LabelFixtures.solidPng(dir.resolve("red.png"), 8, 8, 0xFF0000);
        LabelFixtures.solidPng(dir.resolve("white.png"), 12, 12, 0xFFFFFF);
        Files.createDirectories(dir.resolve("sub"));
        LabelFixtures.solidPng(dir.resolve("sub/cyan.png"), 5, 5, 0x00FFFF);
        Files.copy(LabelFixtures.resource("red-5x3.webp"), dir.resolve("sub/red.webp"));
        Files.writeString(dir.resolve("broken.jpg"), "not really a jpeg");
    }

    private Labeler.Summary run(CaptionFormat format, String trigger, boolean overwrite, int batch) {
        try (Wd14Tagger tagger = Wd14Tagger.open(LabelFixtures.tinyTagger(), DEFAULTS)) {
            return new Labeler(tagger, new PrintStream(log, true, StandardCharsets.UTF_8))
                    .run(new Labeler.Options(dir, format, dir.resolve("metadata.csv"), trigger, overwrite, batch));
        }
    }

    @Test
    void labelsFolderIntoCsvAndCountsUnreadable() {
        Labeler.Summary s = run(CaptionFormat.CSV, null, false, 3);
        assertEquals(new Labeler.Summary(4, 0, 1), s);
        assertEquals("labeled 4, skipped 0 (already captioned), unreadable 1", s.line());
        Map<String, String> want = new LinkedHashMap<>();
        want.put("red.png", RED);
        want.put("sub/cyan.png", CYAN);
        // A 5x3 red image padded on white to 5x5 (then resized to 8x8): means B=G≈0.4, R≈1 →
        // red ≈2.1 (0.89), long_hair 1 (0.731), simple 0.25 (0.562), ^_^ ≈0.1 (0.525).
        want.put("sub/red.webp", "red background, long hair, simple background, ^_^");
        want.put("white.png", WHITE);
        assertEquals(want, MetadataCsv.read(dir.resolve("metadata.csv")));
        String logText = log.toString(StandardCharsets.UTF_8);
        assertTrue(logText.contains("warning: skipped " + dir.resolve("broken.jpg")), logText);
        assertTrue(logText.contains("label 5/5 (100.0%)"), logText);
    }

    @Test
    void batchSizeDoesNotChangeCaptions() throws IOException {
        run(CaptionFormat.CSV, null, false, 1);
        String one = Files.readString(dir.resolve("metadata.csv"));
        run(CaptionFormat.CSV, null, true, 16);
        assertEquals(one, Files.readString(dir.resolve("metadata.csv")));
    }

    @Test
    void existingCsvRowsSurviveUnlessOverwrite() throws IOException {
        Files.writeString(dir.resolve("metadata.csv"), "file_name,text\nwhite.png,\"my own, caption\"\nold.png,gone image\n");
        Labeler.Summary s = run(CaptionFormat.CSV, null, false, 4);
        assertEquals(new Labeler.Summary(3, 1, 1), s);
        Map<String, String> rows = MetadataCsv.read(dir.resolve("metadata.csv"));
        assertEquals("my own, caption", rows.get("white.png"));
        assertEquals("gone image", rows.get("old.png"), "rows of other files are kept");
        assertEquals(RED, rows.get("red.png"));
        assertEquals("white.png", rows.keySet().iterator().next(), "existing rows keep their place");

        assertEquals(new Labeler.Summary(4, 0, 1), run(CaptionFormat.CSV, null, true, 4));
        assertEquals(WHITE, MetadataCsv.read(dir.resolve("metadata.csv")).get("white.png"));
    }

    @Test
    void existingTxtFilesAreLeftAloneUnlessOverwrite() throws IOException {
        Files.writeString(dir.resolve("red.txt"), "hand written\n");
        Labeler.Summary s = run(CaptionFormat.TXT, "sks", false, 2);
        assertEquals(new Labeler.Summary(3, 1, 1), s);
        assertEquals("hand written\n", Files.readString(dir.resolve("red.txt")));
        assertEquals("sks, " + CYAN, Files.readString(dir.resolve("sub/cyan.txt")));
        assertEquals("sks, " + WHITE, Files.readString(dir.resolve("white.txt")));
        assertTrue(!Files.exists(dir.resolve("broken.txt")), "unreadable images get no caption");
        assertTrue(!Files.exists(dir.resolve("metadata.csv")));

        run(CaptionFormat.TXT, "sks", true, 2);
        assertEquals("sks, " + RED, Files.readString(dir.resolve("red.txt")));
    }

    @Test
    void triggerOnlyCaptions() throws IOException {
        Labeler.Summary s = new Labeler(ImageTagger.none(), new PrintStream(log, true, StandardCharsets.UTF_8))
                .run(new Labeler.Options(dir, CaptionFormat.CSV, dir.resolve("metadata.csv"), " sks ", false, 8));
        assertEquals(new Labeler.Summary(4, 0, 1), s);
        Map<String, String> rows = MetadataCsv.read(dir.resolve("metadata.csv"));
        assertEquals(4, rows.size());
        rows.values().forEach(v -> assertEquals("sks", v));
    }

    @Test
    void triggerIsNotRepeated() {
        assertEquals("red background, long hair", Labeler.caption("red background", java.util.List.of("red background", "long hair")));
        assertEquals("a, b", Labeler.caption(null, java.util.List.of("a", "b")));
    }
}
