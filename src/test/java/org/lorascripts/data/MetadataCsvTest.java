package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetadataCsvTest {

    private static String error(String text) {
        return assertThrows(DatasetException.class, () -> MetadataCsv.parse(text, "m.csv")).getMessage();
    }

    @Test
    void hardCaptionsRoundTrip(@TempDir Path dir) throws IOException {
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("plain.png", "1girl, solo");
        rows.put("sub/quote \"x\".png", "she said \"hi\", then left");
        rows.put("multi,line.jpg", "first line\nsecond line\r\nthird");
        rows.put("中文/猫.webp", "一只猫，坐在窗边, 可爱");
        rows.put("empty.png", "");
        rows.put("spaces.png", "  padded  ");
        rows.put("hash.png", "#tag first");
        Path csv = dir.resolve("metadata.csv");
        MetadataCsv.write(csv, rows);
        assertEquals(rows, MetadataCsv.read(csv));
        // Independent check of the quoting: the bytes a spreadsheet would expect.
        String text = Files.readString(csv, StandardCharsets.UTF_8);
        assertTrue(text.startsWith("file_name,text\nplain.png,\"1girl, solo\"\n"), text);
        assertTrue(text.contains("\"sub/quote \"\"x\"\".png\",\"she said \"\"hi\"\", then left\"\n"), text);
        assertTrue(text.contains("\"multi,line.jpg\",\"first line\nsecond line\r\nthird\"\n"), text);
        assertTrue(text.contains("中文/猫.webp,\"一只猫，坐在窗边, 可爱\"\n"), text);
        assertTrue(text.contains("empty.png,\n"), text);
        assertTrue(text.contains("spaces.png,\"  padded  \"\n"), text);
        assertTrue(text.endsWith("\nhash.png,\"#tag first\"\n"), "LF line ends: " + text);
        try (var files = Files.list(dir)) {
            assertEquals(List.of(csv), files.toList(), "written atomically: no temporary file left behind");
        }
    }

    @Test
    void plainCaptionsAreNotQuoted() {
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("a.png", "a cat sitting");
        rows.put("b.png", "dog");
        assertEquals("file_name,text\na.png,a cat sitting\nb.png,dog\n", MetadataCsv.format(rows));
    }

    @Test
    void readsCrlfBomAndExtraColumns() {
        String text = "\uFEFFid,file_name,text\r\n1,a.png,\"x, y\"\r\n2,b.png,z\r\n\r\n";
        Map<String, String> rows = MetadataCsv.parse(text, "m.csv");
        assertEquals(Map.of("a.png", "x, y", "b.png", "z"), rows);
        assertEquals("a.png", rows.keySet().iterator().next());
    }

    @Test
    void headerNamesInAnyCaseAndOrderWithQuotedMultiLineFields() {
        // Formerly CaptionCsvTest.csvQuotingFollowsRfc4180 (the dry run's reader).
        Map<String, String> rows = MetadataCsv.parse(
                "Text, File_Name ,extra\n\"x, \"\"y\"\"\",./a.png,1\n\"two\nlines\",b.png,2\n", "m.csv");
        assertEquals(Map.of("a.png", "x, \"y\"", "b.png", "two\nlines"), rows);
    }

    @Test
    void fileNamesAreNormalised() {
        Map<String, String> rows = MetadataCsv.parse(
                "file_name,text\n./a.png,one\n sub\\b.png ,two\nsub//c.png,three\nx/../d.png,four\n", "m.csv");
        assertEquals(List.of("a.png", "sub/b.png", "sub/c.png", "d.png"), List.copyOf(rows.keySet()));
        assertEquals("two", rows.get("sub/b.png"), "the text is kept as written");
    }

    @Test
    void lastLineWithoutNewlineAndBlankLines() {
        assertEquals(Map.of("a.png", "cat"), MetadataCsv.parse("file_name,text\na.png,cat", "m.csv"));
        assertEquals(Map.of("a.png", "cat"), MetadataCsv.parse("\nfile_name,text\n\n   \na.png,cat\n\n", "m.csv"));
        assertEquals(Map.of(), MetadataCsv.parse("", "m.csv"));
        assertEquals(Map.of(), MetadataCsv.parse("file_name,text\n", "m.csv"));
    }

    @Test
    void unclosedQuoteNamesTheFileAndTheLineItOpensOn() {
        DatasetException e = assertThrows(DatasetException.class,
                () -> MetadataCsv.parse("file_name,text\na.png,ok\n\"b\nc.png\",\"two\nlines\"\nd.png,\"open\n", "data/metadata.csv"));
        assertEquals("data/metadata.csv:6: a quoted field is never closed: check its quotes", e.getMessage());
        assertTrue(error("file_name,text\na.png,\"ab\"cd\n").startsWith("m.csv:2: malformed CSV ("), error("file_name,text\na.png,\"ab\"cd\n"));
    }

    @Test
    void headerErrorsNameTheLine() {
        assertEquals("m.csv:1: header must have columns file_name and text, found 'filename,caption'",
                error("filename,caption\na.png,x\n"));
        assertEquals("m.csv:1: header must have columns file_name and text, found 'a.png,cat'", error("a.png,cat\n"));
    }

    @Test
    void duplicatesNameBothLinesEvenWhenSpelledDifferently() {
        assertEquals("m.csv:3: file_name 'a.png' is also on line 2: keep one row per image",
                error("file_name,text\na.png,x\na.png,y\n"));
        assertEquals("m.csv:5: file_name 'sub/b.png' is also on line 2: keep one row per image",
                error("file_name,text\nsub/b.png,\"multi\nline\"\nc.png,z\n./sub\\b.png,again\n"));
    }

    @Test
    void rowsOfTheWrongWidthAreErrors() {
        assertEquals("m.csv:3: 1 field, expected 2 (file_name,text)", error("file_name,text\na.png,x\nb.png\n"));
        assertEquals("m.csv:2: 3 fields but the header has 2: put a text that holds commas in double quotes (\"a, b\")",
                error("file_name,text\na.png,cat, sitting\n"));
        assertEquals(Map.of("a.png", "cat"), MetadataCsv.parse("file_name,text\na.png,cat,\n", "m.csv"),
                "a trailing empty field (spreadsheet export) is fine");
        assertEquals("m.csv:2: empty file_name", error("file_name,text\n,cat\n"));
    }

    @Test
    void notUtf8IsAnErrorNamingTheLine(@TempDir Path dir) throws IOException {
        Path csv = dir.resolve("metadata.csv");
        Files.write(csv, new byte[] {'f', 'i', 'l', 'e', '_', 'n', 'a', 'm', 'e', ',', 't', 'e', 'x', 't', '\n',
                'a', ',', (byte) 0xC3, 'x'});
        DatasetException e = assertThrows(DatasetException.class, () -> MetadataCsv.read(csv));
        assertEquals(csv + ":2: not UTF-8 text (byte 18); re-save the file as UTF-8", e.getMessage());
    }

    @Test
    void aMissingFileIsNamed(@TempDir Path dir) {
        Path csv = dir.resolve("gone.csv");
        assertEquals(csv + " does not exist", assertThrows(DatasetException.class, () -> MetadataCsv.read(csv)).getMessage());
    }

    @Test
    void normaliseNameRules() {
        assertEquals("a.png", ImageFiles.normalizeName("./a.png"));
        assertEquals("a.png", ImageFiles.normalizeName("././a.png"));
        assertEquals("sub/b.png", ImageFiles.normalizeName("sub\\b.png"));
        assertEquals("sub/b.png", ImageFiles.normalizeName(" .\\sub\\b.png "));
        assertEquals("../x.png", ImageFiles.normalizeName("../x.png"), "outside the folder: matches no image");
        assertEquals("/abs/x.png", ImageFiles.normalizeName("/abs/./x.png"));
    }
}
