package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {
    @TempDir Path dir;

    private static Map<String, byte[]> contents(Path folder) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (Stream<Path> s = Files.list(folder)) {
            for (Path p : s.toList()) m.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
        return m;
    }

    private static List<String> names(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test void aFailedSaveLeavesThePreviousCheckpointAndNoTempFolder() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("save_steps", 5);
        Path step5 = dir.resolve("out/checkpoints/step-5");
        Map<String, byte[]>[] before = new Map[1];
        TrainingLoop.Options opts = f.options(new Resume.None()).withListener(new StepListener() {
            @Override public void onStep(long step, double loss, double lr, double gradNorm, boolean applied) {
                if (step == 6) {
                    try {
                        before[0] = contents(step5);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            }
        });
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.1)) {
            task.failOnExport = 2;  // the save at step 10
            TrainingException e = assertThrows(TrainingException.class,
                    () -> new TrainingLoop(f.config(), task, org.lorascripts.tensor.Device.CPU, opts).run());
            assertEquals("could not save checkpoint " + dir.resolve("out/checkpoints/step-10") + ": No space left on device;"
                    + " the last good checkpoint is " + step5 + "; free disk space or fix the folder, then resume with --resume latest",
                    e.getMessage());
        }
        assertEquals(List.of("step-5"), names(dir.resolve("out/checkpoints")), "no step-10, no .tmp- folder");
        Map<String, byte[]> after = contents(step5);
        assertEquals(before[0].keySet(), after.keySet());
        for (String k : after.keySet()) assertArrayEquals(before[0].get(k), after.get(k), k + " changed");
        assertEquals(3, after.size(), "adapter, trainer_state.json, trainer_state.safetensors");

        // and the run continues from there
        LoopFixture again = new LoopFixture(dir.resolve("out")).set("save_steps", 5);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.1)) {
            assertEquals(20, again.run(task, new Resume.Latest()).steps());
        }
    }

    @Test void strayTempFoldersAreIgnoredAndRemovedAtTheNextStart() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 1);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            f.run(task);
        }
        Path stray = Files.createDirectories(dir.resolve("out/checkpoints/step-9.tmp-dead"));
        Files.writeString(stray.resolve(TrainerState.FILE_NAME), "{\"half\":");
        Files.writeString(stray.resolve(CheckpointStore.STATE_TENSORS), "");
        CheckpointStore store = new CheckpointStore(dir.resolve("out"));
        assertEquals(5, store.latest().orElseThrow().step(), "a temp folder is never a checkpoint");

        f.set("epochs", 2);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            assertEquals(10, f.run(task, new Resume.Latest()).steps());
        }
        assertFalse(Files.exists(stray));
        assertTrue(f.console().contains("removed 1 unfinished checkpoint folder(s)"), f.console());
        assertEquals(List.of("step-10", "step-5"), names(dir.resolve("out/checkpoints")));
    }

    @Test void pruningKeepsTheNewestAndTheBest() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 3).set("eval_steps", 3).set("save_steps", 3)
                .set("save_total_limit", 2);
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.0)) {
            task.scriptedVal = new double[] {1.0, 0.5, 0.7, 0.8, 0.9, 0.95};  // evals at 3, 6, 9, 12, 15: best at 6
            TrainingResult r = f.run(task);
            assertEquals(15, r.steps());
            assertEquals(6, r.bestStep());
            assertEquals(0.5, r.bestValLoss());
        }
        assertEquals(List.of("step-12", "step-15", "step-6"), names(dir.resolve("out/checkpoints")));
        assertArrayEquals(Files.readAllBytes(dir.resolve("out/checkpoints/step-6/out.safetensors")),
                Files.readAllBytes(dir.resolve("out/out-best.safetensors")));
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(dir.resolve("out/out.safetensors")),
                Files.readAllBytes(dir.resolve("out/out-best.safetensors"))));
    }

    @Test void pruneWithoutLimitKeepsEverything() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2).set("save_steps", 2).set("save_total_limit", 0);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            f.run(task);
        }
        assertEquals(List.of("step-10", "step-2", "step-4", "step-6", "step-8"), names(dir.resolve("out/checkpoints")));
    }
}
