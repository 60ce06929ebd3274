package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fresh run into an output_dir with checkpoints: refused before any model loads, or started afresh. */
class OverwriteOutputDirTest {
    @TempDir Path dir;

    @Test void refusedBeforeTheTaskIsBuiltUnlessOverwriteIsSet() throws Exception {
        Path out = dir.resolve("out");
        LoopFixture f = new LoopFixture(out).set("epochs", 1);
        AtomicInteger built = new AtomicInteger();
        LoopTrainer trainer = new LoopTrainer(c -> { built.incrementAndGet(); return new ToyLoraTask(10, 0, 0.0); }, f.options(new Resume.None()));
        trainer.train(f.config(), new Resume.None());
        assertEquals(1, built.get());
        Path stale = Files.writeString(out.resolve("logs").resolve("stale-marker.txt"), "from the first run");

        TrainingException e = assertThrows(TrainingException.class, () -> trainer.train(f.config(), new Resume.None()));
        assertTrue(e.getMessage().startsWith(out.resolve("checkpoints") + " already holds checkpoints (newest step-5)"), e.getMessage());
        assertTrue(e.getMessage().endsWith("set overwrite_output_dir: true to start afresh"), e.getMessage());
        assertEquals(1, built.get(), "refused before the model was built");

        LoopFixture again = new LoopFixture(out).set("epochs", 1).set("overwrite_output_dir", true);
        LoopTrainer second = new LoopTrainer(c -> { built.incrementAndGet(); return new ToyLoraTask(10, 0, 0.0); }, again.options(new Resume.None()));
        second.train(again.config(), new Resume.None());
        assertEquals(2, built.get());
        assertFalse(Files.exists(stale), "the earlier run's logs were cleared");
        assertTrue(Files.isDirectory(out.resolve("checkpoints").resolve("step-5")), "the new run wrote its own checkpoints");
    }
}
