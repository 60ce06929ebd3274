package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The demo models come out of the jar verified, and a damaged cache copy is replaced. */
class BundledModelsTest {
    @Test void aFileIsCopiedOnceVerifiedAndRepairedWhenDamaged() throws Exception {
        // tiny-sd ships as tiny-sd.safetensors.gz: the copy is the decompressed file, checked against its recorded sum
        assertTrue(BundledModels.class.getClassLoader().getResource("demo-models/tiny-sd/tiny-sd.safetensors.gz") != null);
        Path f = BundledModels.file("tiny-sd/tiny-sd.safetensors");
        String sha = BundledModels.sha256Of("tiny-sd/tiny-sd.safetensors");
        assertEquals(sha, BundledModels.sha256(f));
        assertTrue(f.getParent().getFileName().toString().startsWith(sha.substring(0, 12)), "the cache folder names the content");
        long size = Files.size(f);
        try (var ch = Files.newByteChannel(f, StandardOpenOption.WRITE)) {
            ch.truncate(size / 2);                                   // a copy cut short (disk full, killed process)
        }
        assertEquals(f, BundledModels.file("tiny-sd/tiny-sd.safetensors"));
        assertEquals(size, Files.size(f));
        assertEquals(sha, BundledModels.sha256(f), "repaired from the jar");
    }

    @Test void aFolderHoldsEveryFileVerified() throws Exception {
        List<String> files = List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json");
        Path d = BundledModels.folder("tiny-llama", files);
        for (String name : files) assertEquals(BundledModels.sha256Of("tiny-llama/" + name), BundledModels.sha256(d.resolve(name)), name);
    }

    @Test void anUnrecordedFileIsRefused() {
        IOException e = assertThrows(IOException.class, () -> BundledModels.file("tiny-sd/other.safetensors"));
        assertEquals("demo-models/SHA256SUMS records no sha256 for tiny-sd/other.safetensors", e.getMessage());
    }
}
