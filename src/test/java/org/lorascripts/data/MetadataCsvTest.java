package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetadataCsvTest {

    @Test
    void hardCaptionsRoundTrip(@TempDir Path dir) throws IOException {
        Map<String, String> rows = new LinkedHashMap<>();
        rows.put("plain.png", "1girl, solo");
        rows.put("sub/quote \"x\".png", "she said \"hi\", then left");
        rows.put("multi,line.jpg", "first line\nsecond line\r\nthird");
        rows.put("中文/猫.webp", "一只猫，坐在窗边, 可爱");
        rows.put("empty.png", "");
        rows.put("spaces.png", "  padded  ");
        Path csv = dir.resolve("metadata.csv");
        MetadataCsv.write(csv, rows);
        assertEquals(rows, MetadataCsv.read(csv));
        // Independent check of the quoting: the bytes a spreadsheet would expect.
        String text = Files.readString(csv, StandardCharsets.UTF_8);
        assertTrue(text.startsWith("file_name,text\nplain.png,\"1girl, solo\"\n"), text);
        assertTrue(text.contains("\"sub/quote \"\"x\"\".png\",\"she said \"\"hi\"\", then left\"\n"), text);
        assertTrue(text.contains("中文/猫.webp,\"一只猫，坐在窗边, 可爱\"\n"), text);
        assertTrue(text.contains("empty.png,\n"), text);
    }

    @Test
    void readsCrlfBomAndExtraColumns() {
        String text = "\uFEFFid,file_name,text\r\n1,a.png,\"x, y\"\r\n2,b.png,z\r\n\r\n";
        Map<String, String> rows = MetadataCsv.parse(text, "m.csv");
        assertEquals(Map.of("a.png", "x, y", "b.png", "z"), rows);
        assertEquals("a.png", rows.keySet().iterator().next());
    }

    @Test
    void lastLineWithoutNewline() {
        assertEquals(Map.of("a.png", "cat"), MetadataCsv.parse("file_name,text\na.png,cat", "m.csv"));
    }

    @Test
    void unclosedQuoteNamesTheFile() {
        DatasetException e = assertThrows(DatasetException.class,
                () -> MetadataCsv.parse("file_name,text\na.png,\"open\n", "data/metadata.csv"));
        assertTrue(e.getMessage().startsWith("data/metadata.csv: a quoted field is never closed"), e.getMessage());
    }

    @Test
    void missingColumnsAndDuplicatesAreErrors() {
        DatasetException header = assertThrows(DatasetException.class, () -> MetadataCsv.parse("name,caption\na,b\n", "m.csv"));
        assertTrue(header.getMessage().contains("file_name and text"), header.getMessage());
        DatasetException dup = assertThrows(DatasetException.class,
                () -> MetadataCsv.parse("file_name,text\na.png,x\na.png,y\n", "m.csv"));
        assertTrue(dup.getMessage().contains("'a.png' appears twice"), dup.getMessage());
        DatasetException shortRow = assertThrows(DatasetException.class, () -> MetadataCsv.parse("file_name,text\na.png\n", "m.csv"));
        assertTrue(shortRow.getMessage().contains("record 2 has 1 fields"), shortRow.getMessage());
    }

    @Test
    void notUtf8IsAnError(@TempDir Path dir) throws IOException {
        Path csv = dir.resolve("metadata.csv");
        Files.write(csv, new byte[] {'f', 'i', 'l', 'e', '_', 'n', 'a', 'm', 'e', ',', 't', 'e', 'x', 't', '\n', (byte) 0xC3, 'x'});
        DatasetException e = assertThrows(DatasetException.class, () -> MetadataCsv.read(csv));
        assertTrue(e.getMessage().contains("is not UTF-8"), e.getMessage());
    }
}
