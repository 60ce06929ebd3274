package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.PngWriter;
import picocli.CommandLine;

class LabelCommandTest {
    /** Exit code, stdout and stderr of one ./lora invocation. */
    record Run(int code, String out, String err) {}

    static Run lora(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = new CommandLine(new Main()).execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static Path tinyTagger() throws URISyntaxException {
        return Path.of(LabelCommandTest.class.getResource("/fixtures/tiny-tagger").toURI());
    }

    private static void redPng(Path file) throws IOException {
        byte[] px = new byte[4 * 4 * 3];
        for (int i = 0; i < px.length; i += 3) px[i] = (byte) 255;
        PngWriter.write(file, px, 4, 4, PngWriter.Channels.RGB);
    }

    @Test
    void labelsWithModelAndTrigger(@TempDir Path dir) throws Exception {
        redPng(dir.resolve("a.png"));
        Files.writeString(dir.resolve("bad.png"), "garbage");
        Path out = dir.resolve("captions").resolve("metadata.csv");
        Run r = lora("label", "--input", dir.toString(), "--model", tinyTagger().toString(), "--trigger", "sks",
                "--output", out.toString(), "--threshold", "0.6");
        assertEquals(0, r.code(), r.err());
        assertEquals("labeled 1, skipped 0 (already captioned), unreadable 1\n", r.out());
        // Red: red_background 0.989 and long_hair 0.731 pass 0.6; simple_background 0.562 does not.
        assertEquals("file_name,text\na.png,\"sks, red background, long hair\"\n", Files.readString(out));
        assertTrue(r.err().contains("warning: skipped " + dir.resolve("bad.png")), r.err());
    }

    @Test
    void triggerOnlyWithoutModel(@TempDir Path dir) throws Exception {
        redPng(dir.resolve("a.png"));
        redPng(dir.resolve("b.png"));
        Run r = lora("label", "--input", dir.toString(), "--model", "none", "--trigger", "ohwx", "--format", "txt");
        assertEquals(0, r.code(), r.err());
        assertEquals("ohwx", Files.readString(dir.resolve("a.txt")));
        assertEquals("ohwx", Files.readString(dir.resolve("b.txt")));
        assertTrue(r.err().contains("--model none, captions will hold only the trigger word 'ohwx'"), r.err());
        assertEquals("labeled 2, skipped 0 (already captioned), unreadable 0\n", r.out());
    }

    @Test
    void modelNoneWithoutTriggerExitsTwo(@TempDir Path dir) throws Exception {
        redPng(dir.resolve("a.png"));
        Run r = lora("label", "--input", dir.toString(), "--model", "none");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--model none captions every image with just the trigger word: add --trigger WORD"), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line, no stack trace: " + r.err());
        assertFalse(Files.exists(dir.resolve("metadata.csv")));
    }

    @Test
    void missingInputFolderExitsTwo(@TempDir Path dir) {
        Path missing = dir.resolve("nope");
        Run r = lora("label", "--input", missing.toString(), "--model", "none", "--trigger", "x");
        assertEquals(2, r.code());
        assertEquals("error: input folder " + missing + " does not exist: check the --input path\n", r.err());
    }

    @Test
    void aMalformedMetadataCsvExitsTwoNamingTheLine(@TempDir Path dir) throws Exception {
        redPng(dir.resolve("a.png"));
        Path csv = Files.writeString(dir.resolve("metadata.csv"), "file_name,text\nb.png,\"never closed\n");
        Run r = lora("label", "--input", dir.toString(), "--model", "none", "--trigger", "x");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().endsWith("error: " + csv + ":2: a quoted field is never closed: check its quotes\n"), r.err());
        assertEquals("file_name,text\nb.png,\"never closed\n", Files.readString(csv), "left as it was");
    }

    @Test
    void modelFolderWithoutSelectedTagsExitsTwo(@TempDir Path dir) throws Exception {
        Path images = Files.createDirectories(dir.resolve("images"));
        redPng(images.resolve("a.png"));
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.copy(tinyTagger().resolve("model.onnx"), model.resolve("model.onnx"));
        Run r = lora("label", "--input", images.toString(), "--model", model.toString());
        assertEquals(2, r.code());
        assertEquals("error: tagger folder " + model + " has no selected_tags.csv: use a SmilingWolf wd tagger"
                + " folder holding model.onnx and selected_tags.csv\n", r.err());
        assertFalse(Files.exists(images.resolve("metadata.csv")));
    }

    @Test
    void badOptionsExitTwo(@TempDir Path dir) throws Exception {
        redPng(dir.resolve("a.png"));
        Run txtWithOutput = lora("label", "--input", dir.toString(), "--model", "none", "--trigger", "x", "--format", "txt",
                "--output", dir.resolve("m.csv").toString());
        assertEquals(2, txtWithOutput.code());
        assertTrue(txtWithOutput.err().contains("--format txt"), txtWithOutput.err());
        Run threshold = lora("label", "--input", dir.toString(), "--model", tinyTagger().toString(), "--threshold", "1.5");
        assertEquals(2, threshold.code());
        assertTrue(threshold.err().contains("--threshold must be between 0 and 1"), threshold.err());
    }
}
