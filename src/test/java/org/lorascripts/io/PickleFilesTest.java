package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PickleFilesTest {
    @Test
    void everyPickleExtensionIsFoundWhateverItsCase() {
        for (String name : new String[] {"v1-5.ckpt", "lora.PT", "x.pth", "pytorch_model.bin", "model.fp16.bin", "state.pkl"}) {
            assertTrue(PickleFiles.isPickle(Path.of("dir", name)), name);
        }
        assertEquals(Optional.of(".ckpt"), PickleFiles.extension(Path.of("Model.CKPT")));
        for (String name : new String[] {"a.safetensors", "model.safetensors.index.json", "bin", "notes.txt", "x.ptx"}) {
            assertFalse(PickleFiles.isPickle(Path.of(name)), name);
        }
        assertFalse(PickleFiles.isPickle(Path.of("/")), "a root has no file name");
    }

    @Test
    void theRefusalNamesTheFileAndSaysToConvertToSafetensors() {
        String m = PickleFiles.refusal("--lora old.pt", ".pt", PickleFiles.tensorDictConversion(Path.of("some/dir/old.pt")));
        assertTrue(m.startsWith("--lora old.pt: .pt files are Python pickles"), m);
        assertTrue(m.contains("Convert it to .safetensors once"), m);
        assertTrue(m.contains("torch.load('old.pt')"), "the conversion names the file without its folder: " + m);
        assertEquals(1, m.lines().count(), m);
    }
}
