package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.data.ImageFiles;
import org.lorascripts.label.CaptionTags;

class CaptionStoreTest {

    @Test
    void txtCaptionsBesideImagesIncludingSubfolders(@TempDir Path dir) throws IOException {
        Files.createDirectories(dir.resolve("sub"));
        Files.write(dir.resolve("a.png"), new byte[] {1});
        Files.write(dir.resolve("sub/b.JPG"), new byte[] {1});
        Files.write(dir.resolve("c.webp"), new byte[] {1});
        Files.writeString(dir.resolve("a.txt"), "cat, sitting\n");
        Files.writeString(dir.resolve("sub/b.txt"), "dog");
        Files.writeString(dir.resolve("notes.txt"), "not a caption");   // no image named notes
        assertEquals(List.of("a.png", "c.webp", "sub/b.JPG"), ImageFiles.list(dir));
        assertEquals(CaptionFormat.TXT, CaptionStore.detect(dir));
        CaptionStore store = CaptionStore.open(dir);
        assertEquals(Map.of("a.png", "cat, sitting", "sub/b.JPG", "dog"), store.captions());
        store.putAll(Map.of("c.webp", "bird"));
        assertEquals("bird", Files.readString(dir.resolve("c.txt")));
        assertEquals("cat, sitting\n", Files.readString(dir.resolve("a.txt")), "untouched files are not rewritten");
    }

    @Test
    void csvIsDetectedAndRewrittenWhole(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("metadata.csv"), "file_name,text\nx.png,one\n");
        assertEquals(CaptionFormat.CSV, CaptionStore.detect(dir));
        CaptionStore store = CaptionStore.open(dir);
        store.putAll(Map.of("y.png", "two, three"));
        assertEquals("file_name,text\nx.png,one\ny.png,\"two, three\"\n", Files.readString(dir.resolve("metadata.csv")));
        assertFalse(Files.exists(dir.resolve("y.txt")));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temp file left behind");
        }
    }

    @Test
    void handWrittenCsvNamesMatchTheImagesSoARewriteKeepsOneRowPerImage(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("a.png"), new byte[] {1});
        Files.writeString(dir.resolve("metadata.csv"), "file_name,text\n./a.png,old\n");
        CaptionStore store = CaptionStore.open(dir);
        assertTrue(store.has("a.png"), store.captions().toString());
        store.putAll(Map.of("a.png", "new"));
        assertEquals("file_name,text\na.png,new\n", Files.readString(dir.resolve("metadata.csv")));
    }

    @Test
    void tagsAreTrimmedAndEmptyOnesDropped() {
        assertEquals(List.of("a", "b c", "d"), CaptionTags.split(" a ,b c,, d, "));
        assertEquals("a, b c", CaptionTags.join(List.of("a", "b c")));
    }
}
