package org.lorascripts.io.tensorboard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compares our bytes with a golden file made by tools/fixtures/make_golden_events.py, which encodes the
 * same sequence with its own protobuf encoder and CRC-32C (Python standard library only).
 */
class EventFileGoldenTest {
    static final String GOLDEN = "events.out.tfevents.1700000000.golden-host";

    static EventFileWriter.Options pinned() {
        return new EventFileWriter.Options(() -> 1700000000.5, "golden-host", Duration.ofHours(1));
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = EventFileGoldenTest.class.getResourceAsStream("/fixtures/tensorboard/" + name)) {
            if (in == null) throw new IOException("missing test resource " + name);
            return in.readAllBytes();
        }
    }

    /** Same sequence as make_golden_events.py main(). */
    static Path writeGoldenSequence(Path dir) throws IOException {
        byte[] png = resource("tiny.png");
        try (EventFileWriter w = EventFileWriter.open(dir, pinned())) {
            w.addScalar("loss", 0.5f, 1);
            w.addScalar("loss", 0.0f, 0);
            w.addScalar("lr", 1e-4f, 2);
            w.addImage("samples/tiny", png, 2, 2, 3);
            w.addText("notes", "hello **world** \u00fc\u26a1", 4);
            w.addScalar("big/step", -1.25f, 1L << 40);
            return w.file();
        }
    }

    @Test
    void bytesMatchIndependentPythonEncoding(@TempDir Path dir) throws IOException {
        Path file = writeGoldenSequence(dir);
        assertEquals(GOLDEN, file.getFileName().toString());
        assertArrayEquals(resource(GOLDEN), Files.readAllBytes(file));
    }
}
