package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Captions in metadata.jsonl (Hugging Face imagefolder: a {"file_name", "text"} object a line; kohya's JSONL:
 * image_path, caption, tags) and in kohya's fine-tuning metadata JSON (keyed by image path or stem, caption
 * and tags joined as kohya's FineTuningDataset joins them: caption + "," + tags).
 */
class CaptionMetadataTest {
    @TempDir Path dir;

    private Path images(String... names) throws IOException {
        Path d = dir.resolve("img");
        for (int i = 0; i < names.length; i++) KohyaDatasetTest.png(d.resolve(names[i]), i);
        return d;
    }

    private static Map<String, String> captions(ImageFolder f) {
        Map<String, String> m = new java.util.TreeMap<>();
        for (ImageFolder.Image i : f.images()) m.put(i.name(), i.caption() + " [" + i.source() + "]");
        return m;
    }

    @Test
    void metadataJsonlBesideTheImagesIsReadAsMetadataCsvIs() throws IOException {
        Path d = images("a.png", "sub/b.png", "c.png");
        Files.writeString(d.resolve("metadata.jsonl"), """
                {"file_name": "a.png", "text": "a red circle", "aesthetic": 6.1}

                {"file_name": "sub/b.png", "text": " a blue square "}
                {"file_name": "gone.png", "text": "no such image"}
                """);
        Files.writeString(d.resolve("c.txt"), "from the caption file");
        ImageFolder f = ImageFolder.open(d, Optional.empty(), ".txt");
        assertEquals(Map.of("a.png", "a red circle [METADATA]", "sub/b.png", "a blue square [METADATA]",
                "c.png", "from the caption file [CAPTION_FILE]"), captions(f));
        assertEquals(Optional.of(d.resolve("metadata.jsonl")), f.metadataFile());
        assertEquals(List.of("gone.png"), f.orphanRows());
        ImageDatasetStats s = DatasetScan.images(d, null, ".txt");
        assertEquals(2, s.fromMetadata());
        assertEquals(1, s.fromCaptionFiles());
    }

    @Test
    void kohyasJsonlJoinsCaptionAndTags() throws IOException {
        Path d = images("a.png", "b.png", "c.png");
        Path meta = Files.writeString(dir.resolve("meta.jsonl"), """
                {"image_path": "a.png", "caption": "a photo", "tags": "1girl, smile"}
                {"image_path": "%s", "tags": "cat"}
                {"image_path": "c.png", "caption": "only a caption"}
                """.formatted(d.resolve("b.png")));
        assertEquals(Map.of("a.png", "a photo,1girl, smile [METADATA]", "b.png", "cat [METADATA]",
                "c.png", "only a caption [METADATA]"), captions(ImageFolder.open(d, Optional.of(meta), ".txt")));
    }

    @Test
    void kohyasFineTuningJsonMatchesStemsAndPaths() throws IOException {
        Path d = images("img_001.png", "img_002.jpg", "sub/img_003.png", "img_004.png");
        Path meta = Files.writeString(dir.resolve("meta_cap.json"), """
                {
                  "img_001": {"caption": "a photo of a cat", "tags": "cat, sitting"},
                  "img_002.jpg": {"tags": "dog"},
                  "%s": {"caption": "a bird"},
                  "img_009": {"caption": "not here"}
                }
                """.formatted(d.resolve("sub/img_003.png")));
        ImageFolder f = ImageFolder.open(d, Optional.of(meta), ".txt");
        assertEquals(Map.of("img_001.png", "a photo of a cat,cat, sitting [METADATA]", "img_002.jpg", "dog [METADATA]",
                "sub/img_003.png", "a bird [METADATA]", "img_004.png", " [NONE]"), captions(f));
        assertEquals(List.of("img_009"), f.orphanRows());
    }

    @Test
    void problemsNameTheFileAndLine() throws IOException {
        Path d = images("a.png");
        Path bad = Files.writeString(dir.resolve("m.jsonl"), "{\"file_name\": \"a.png\", \"text\": \"x\"}\n\n{\"file_name\": \"a.png\" \"text\": 1}\n");
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFolder.open(d, Optional.of(bad), ".txt"));
        assertEquals(bad + ":3: not valid JSON", e.getMessage().substring(0, e.getMessage().indexOf(" (")));
        Files.writeString(bad, "{\"file_name\": \"a.png\", \"text\": \"x\"}\n{\"text\": \"y\"}\n");
        assertEquals(bad + ":2: no file_name (the image's path relative to the folder)",
                assertThrows(DatasetException.class, () -> ImageFolder.open(d, Optional.of(bad), ".txt")).getMessage());
        Files.writeString(bad, "{\"file_name\": \"a.png\", \"text\": \"x\"}\n{\"file_name\": \"./a.png\", \"text\": \"y\"}\n");
        assertEquals(bad + ":2: file_name 'a.png' is also on line 1: keep one line per image",
                assertThrows(DatasetException.class, () -> ImageFolder.open(d, Optional.of(bad), ".txt")).getMessage());
        Files.writeString(bad, "{\"file_name\": \"a.png\", \"text\": 3}\n");
        assertEquals(bad + ":1: \"text\" must be a string, got integer",
                assertThrows(DatasetException.class, () -> ImageFolder.open(d, Optional.of(bad), ".txt")).getMessage());
        Path json = Files.writeString(dir.resolve("m.json"), "{\n  \"a\": {\"caption\": \"x\"},\n  \"b\": \"just text\"\n}\n");
        assertEquals(json + ":3: the entry of 'b' must be an object with caption and/or tags, got string",
                assertThrows(DatasetException.class, () -> ImageFolder.open(d, Optional.of(json), ".txt")).getMessage());
        Files.writeString(d.resolve("metadata.csv"), "file_name,text\na.png,x\n");
        Files.writeString(d.resolve("metadata.jsonl"), "{\"file_name\": \"a.png\", \"text\": \"x\"}\n");
        assertEquals(d + " has both metadata.csv and metadata.jsonl: keep the one that holds the captions",
                assertThrows(DatasetException.class, () -> ImageFolder.open(d, Optional.empty(), ".txt")).getMessage());
    }

    @Test
    void captionToolsEditMetadataJsonlAndKeepItsOtherFields() throws IOException {
        Path d = images("a.png", "b.png");
        Files.writeString(d.resolve("metadata.jsonl"), "{\"file_name\":\"a.png\",\"text\":\"cat\",\"score\":7}\n");
        CaptionStore store = CaptionStore.open(d);
        assertEquals(CaptionFormat.JSONL, store.format());
        store.putAll(Map.of("a.png", "mystyle, cat", "b.png", "mystyle, dog"));
        assertEquals("{\"file_name\":\"a.png\",\"text\":\"mystyle, cat\",\"score\":7}\n{\"file_name\":\"b.png\",\"text\":\"mystyle, dog\"}\n",
                Files.readString(d.resolve("metadata.jsonl")));
        assertEquals(Map.of("a.png", "mystyle, cat", "b.png", "mystyle, dog"), CaptionStore.open(d).captions());
    }
}
