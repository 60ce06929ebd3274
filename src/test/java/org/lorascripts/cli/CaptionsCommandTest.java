package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lorascripts.cli.LabelCommandTest.lora;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.cli.LabelCommandTest.Run;
import org.lorascripts.data.MetadataCsv;

class CaptionsCommandTest {
    @TempDir Path dir;

    @BeforeEach
    void images() throws IOException {
        for (String name : new String[] {"a.png", "b.png", "c.jpg"}) Files.write(dir.resolve(name), new byte[] {0});
    }

    private void csv(String body) throws IOException {
        Files.writeString(dir.resolve("metadata.csv"), "file_name,text\n" + body);
    }

    private Map<String, String> rows() {
        return MetadataCsv.read(dir.resolve("metadata.csv"));
    }

    @Test
    void addTriggerPrependsWhereMissing() throws IOException {
        csv("a.png,\"cat, sks\"\nb.png,dog\nc.jpg,\n");
        Run r = lora("captions", "add-trigger", "--input", dir.toString(), "sks");
        assertEquals(0, r.code(), r.err());
        assertEquals(Map.of("a.png", "cat, sks", "b.png", "sks, dog", "c.jpg", "sks"), rows());
        assertTrue(r.out().contains("  b.png: sks, dog\n"), r.out());
        assertTrue(r.out().contains("add-trigger: changed 2 of 3 captions"), r.out());
    }

    @Test
    void replaceIsTagExact() throws IOException {
        Files.writeString(dir.resolve("a.txt"), "red hair, long red hair,red hair");
        Files.writeString(dir.resolve("b.txt"), "blue hair");
        Run r = lora("captions", "replace", "--input", dir.toString(), "red hair", "crimson hair");
        assertEquals(0, r.code(), r.err());
        assertEquals("crimson hair, long red hair, crimson hair", Files.readString(dir.resolve("a.txt")));
        assertEquals("blue hair", Files.readString(dir.resolve("b.txt")));
        assertTrue(r.out().contains("replace: changed 1 of 2 captions") && r.out().contains("(txt)"), r.out());
    }

    @Test
    void removeSeveralTags() throws IOException {
        csv("a.png,\"solo, 1girl, smile, solo\"\nb.png,\"smile\"\n");
        Run r = lora("captions", "remove", "--input", dir.toString(), "solo", "smile");
        assertEquals(0, r.code(), r.err());
        assertEquals(Map.of("a.png", "1girl", "b.png", ""), rows());
    }

    @Test
    void dedupeKeepsFirst() throws IOException {
        csv("a.png,\"b, a, b, c, a\"\nb.png,\"x, y\"\n");
        Run r = lora("captions", "dedupe", "--input", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(Map.of("a.png", "b, a, c", "b.png", "x, y"), rows());
        assertTrue(r.out().contains("dedupe: changed 1 of 2 captions"), r.out());
    }

    @Test
    void freqCountsCaptionsPerTag() throws IOException {
        csv("a.png,\"cat, solo, cat\"\nb.png,\"cat, dog\"\nc.jpg,\"dog, cat, bird\"\n");
        Run all = lora("captions", "freq", "--input", dir.toString());
        assertEquals(0, all.code(), all.err());
        // cat is in 3 captions (twice in a.png counts once), dog in 2, bird and solo in 1 (alphabetical).
        assertEquals("3\tcat\n2\tdog\n1\tbird\n1\tsolo\nfreq: 4 distinct tags in 3 captions (csv)\n", all.out());
        Run top = lora("captions", "freq", "--input", dir.toString(), "--top", "2");
        assertTrue(top.out().startsWith("3\tcat\n2\tdog\nfreq:"), top.out());
    }

    @Test
    void convertBothWays() throws IOException {
        csv("a.png,\"x, \"\"y\"\"\"\nb.png,中文\nmissing.png,z\n");
        Run toTxt = lora("captions", "convert", "--input", dir.toString(), "--to", "txt");
        assertEquals(0, toTxt.code(), toTxt.err());
        assertEquals("x, \"y\"", Files.readString(dir.resolve("a.txt")));
        assertEquals("中文", Files.readString(dir.resolve("b.txt")));
        assertTrue(!Files.exists(dir.resolve("missing.txt")));
        assertTrue(toTxt.out().contains("skipped missing.png"), toTxt.out());

        Files.delete(dir.resolve("metadata.csv"));
        Files.writeString(dir.resolve("c.txt"), "third\n");
        Run toCsv = lora("captions", "convert", "--input", dir.toString(), "--to", "csv");
        assertEquals(0, toCsv.code(), toCsv.err());
        assertEquals("file_name,text\na.png,\"x, \"\"y\"\"\"\nb.png,中文\nc.jpg,third\n",
                Files.readString(dir.resolve("metadata.csv")));
    }

    @Test
    void formatCanBeForced() throws IOException {
        csv("a.png,from csv\n");
        Files.writeString(dir.resolve("a.txt"), "from txt");
        Run r = lora("captions", "add-trigger", "--input", dir.toString(), "--format", "txt", "t");
        assertEquals(0, r.code(), r.err());
        assertEquals("t, from txt", Files.readString(dir.resolve("a.txt")));
        assertEquals(Map.of("a.png", "from csv"), rows());
    }

    @Test
    void errorsAreOneLineWithExitTwo() throws IOException {
        Run missing = lora("captions", "dedupe", "--input", dir.resolve("nope").toString());
        assertEquals(2, missing.code());
        assertEquals("error: input folder " + dir.resolve("nope") + " does not exist: check the --input path\n", missing.err());
        csv("a.png,\"unclosed\n");
        Run broken = lora("captions", "freq", "--input", dir.toString());
        assertEquals(2, broken.code());
        assertTrue(broken.err().startsWith("error: " + dir.resolve("metadata.csv") + ":2: a quoted field"), broken.err());
        Run comma = lora("captions", "add-trigger", "--input", dir.toString(), "--format", "txt", "a,b");
        assertEquals(2, comma.code());
        assertTrue(comma.err().contains("without commas"), comma.err());
    }
}
