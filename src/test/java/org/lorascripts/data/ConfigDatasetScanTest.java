package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Dataset scanning as used by {@code train --dry-run} (named Config* to run with the config tests). */
class ConfigDatasetScanTest {
    @TempDir Path dir;

    private Path file(String name, String content) throws Exception {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
        return p;
    }

    @Test void quickstartData() {
        ImageDatasetStats s = DatasetScan.images(Path.of("examples/quickstart_data"), null, ".txt");
        assertEquals(12, s.imageCount());
        assertEquals(12, s.fromMetadata());
        assertEquals(List.of(), s.missingCaptions());
        assertEquals(List.of(), s.orphanMetadataRows());
    }

    @Test void captionsFromCsvAndTxtFilesAndMissingOnes() throws Exception {
        for (String n : List.of("a.png", "b.JPG", "c.webp", "sub/d.jpeg", "e.bmp", ".cache/x.png", "notes.md")) file(n, "x");
        file("metadata.csv", "\uFEFFfile_name,text\r\na.png,\"a cat, sitting\"\r\nsub/d.jpeg,\"multi\nline \"\"quoted\"\"\"\r\ngone.png,x\r\n");
        file("b.txt", "a dog\n");
        file("c.txt", "   \n");
        ImageDatasetStats s = DatasetScan.images(dir, null, ".txt");
        assertEquals(List.of("a.png", "b.JPG", "c.webp", "e.bmp", "sub/d.jpeg"), s.images());
        assertEquals(2, s.fromMetadata());
        assertEquals(1, s.fromCaptionFiles());
        assertEquals(List.of("c.webp", "e.bmp"), s.missingCaptions());
        assertEquals(List.of("gone.png"), s.orphanMetadataRows());
        assertEquals(Optional.of(dir.resolve("metadata.csv")), s.metadataFile());
    }

    @Test void folderProblemsAreWordedAsTrainingWordsThem() throws Exception {
        Path missing = dir.resolve("nope");
        assertEquals("train_data_dir '" + missing + "' does not exist: put the training images there or fix the path"
                + " (relative paths are relative to the config file)",
                assertThrows(DatasetException.class, () -> DatasetScan.images(missing, null, ".txt")).getMessage());
        file("only.txt", "x");
        assertEquals("train_data_dir '" + dir + "' contains no images: supported extensions are .bmp, .jpeg, .jpg, .png,"
                + " .webp (sub-folders are searched too; hidden ones are skipped)",
                assertThrows(DatasetException.class, () -> DatasetScan.images(dir, null, ".txt")).getMessage());
        Path gone = dir.resolve("gone.csv");
        file("a.png", "x");
        assertEquals("metadata_path '" + gone + "' does not exist: fix the path or remove the key to use caption files"
                + " beside the images", assertThrows(DatasetException.class, () -> DatasetScan.images(dir, gone, ".txt")).getMessage());
    }

    @Test void textExamples() throws Exception {
        file("t/a.txt", "one\n\ntwo\r\nthree\n");
        file("t/b.jsonl", "{\"text\": \"x\"}\nnot json\n\n{\"text\": \"y\"}\n");
        file("t/c.md", "ignored\n");
        TextDatasetStats s = DatasetScan.text(dir.resolve("t"), "auto");
        assertEquals(6, s.examples());
        assertEquals(3, s.textExamples());
        assertEquals(List.of(dir.resolve("t/b.jsonl") + ":2"), s.malformedJsonLines());
        assertEquals(3, DatasetScan.text(dir.resolve("t"), "text").examples());
        assertEquals(3, DatasetScan.text(dir.resolve("t/a.txt"), "auto").examples());
        assertEquals(60, DatasetScan.text(Path.of("examples/quickstart_text/domain.txt"), "auto").examples());
    }

    @Test void pathsWithSpacesAndChinese() throws Exception {
        file("训练 图片/猫 1.png", "x");
        file("训练 图片/猫 1.txt", "一只猫");
        ImageDatasetStats s = DatasetScan.images(dir.resolve("训练 图片"), null, "txt");
        assertEquals(1, s.captionedCount());
        assertTrue(s.missingCaptions().isEmpty());
    }
}
