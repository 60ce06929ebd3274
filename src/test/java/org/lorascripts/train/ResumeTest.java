package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.train.schedule.LrSchedules;

class ResumeTest {
    @TempDir Path dir;

    /** Dropout (torch RNG), shuffled order, cosine warmup, validation and AdamW state all continue exactly. */
    @Test void twentyStepsEqualTenPlusResumePlusTen() throws Exception {
        LoopFixture whole = new LoopFixture(dir.resolve("whole")).set("eval_steps", 5);
        float[] wholeWeights;
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.3)) {
            assertEquals(20, whole.run(task).steps());
            wholeWeights = task.weights();
        }

        LoopFixture split = new LoopFixture(dir.resolve("split")).set("eval_steps", 5);
        split.stopAtStep = 10;
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.3)) {
            TrainingResult first = split.run(task);
            assertTrue(first.interrupted());
            assertEquals(10, first.steps());
        }
        float[] splitWeights;
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.3)) {
            TrainingResult second = split.run(task, new Resume.Latest());
            assertEquals(20, second.steps());
            splitWeights = task.weights();
        }
        assertTrue(split.console().contains("resuming from " + dir.resolve("split/checkpoints/step-10") + " at step 10 of 20"),
                split.console());
        assertEquals(20, split.steps.size());
        for (int i = 0; i < 20; i++) {
            assertEquals(whole.steps.get(i)[0], split.steps.get(i)[0], "step number");
            assertEquals(whole.steps.get(i)[1], split.steps.get(i)[1], 1e-6, "loss of step " + (i + 1));
            assertEquals(whole.steps.get(i)[2], split.steps.get(i)[2], 1e-15, "lr of step " + (i + 1));
        }
        assertEquals(whole.vals.size(), split.vals.size());
        for (int i = 0; i < whole.vals.size(); i++) assertArrayEquals(whole.vals.get(i), split.vals.get(i), 1e-9);
        assertArrayEquals(wholeWeights, splitWeights, 1e-6f);
        // the stop must have mattered: dropout makes step 11 depend on the RNG state restored from the checkpoint
        assertTrue(Arrays.stream(split.losses()).distinct().count() == 20);
    }

    /** AdamW8bit's uint8 codes and absmax go through the checkpoint file and continue exactly. */
    @Test void adamw8bitStateResumesExactly() throws Exception {
        java.util.List<String> args = java.util.List.of("min_8bit_size=0");  // the toy's tensors are small: quantise them all
        LoopFixture whole = new LoopFixture(dir.resolve("whole8")).set("optimizer", "adamw8bit").set("optimizer_args", args);
        float[] wholeWeights;
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.3)) {
            assertEquals(20, whole.run(task).steps());
            wholeWeights = task.weights();
        }
        LoopFixture split = new LoopFixture(dir.resolve("split8")).set("optimizer", "adamw8bit").set("optimizer_args", args);
        split.stopAtStep = 10;
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.3)) {
            assertTrue(split.run(task).interrupted());
        }
        float[] splitWeights;
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.3)) {
            assertEquals(20, split.run(task, new Resume.Latest()).steps());
            splitWeights = task.weights();
        }
        for (int i = 0; i < 20; i++) assertEquals(whole.steps.get(i)[1], split.steps.get(i)[1], 1e-6, "loss of step " + (i + 1));
        assertArrayEquals(wholeWeights, splitWeights, 1e-6f);
        assertTrue(whole.console().contains("optimizer state: "), whole.console());
        // resuming the 8-bit run with AdamW is refused by name
        LoopFixture other = new LoopFixture(dir.resolve("split8"));
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.3)) {
            TrainingException e = assertThrows(TrainingException.class, () -> other.set("epochs", 8).run(task, new Resume.Latest()));
            assertTrue(e.getMessage().contains("optimizer was adamw8bit when it was saved and is adamw now"), e.getMessage());
        }
    }

    @Test void raisingEpochsContinuesWithTheLongerSchedule() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.1)) {
            assertEquals(10, f.run(task).steps());
        }
        f.set("epochs", 4);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.1)) {
            TrainingResult r = f.run(task, new Resume.Latest());
            assertEquals(20, r.steps());
            assertEquals(20, r.totalSteps());
        }
        assertEquals(20, f.steps.size());
        var shortRun = LrSchedules.create("cosine", 0.05, 2, 10, 1, 1.0);
        var longRun = LrSchedules.create("cosine", 0.05, 2, 20, 1, 1.0);
        for (int i = 0; i < 10; i++) assertEquals(shortRun.lr(i), f.steps.get(i)[2], 1e-15, "first run, step " + (i + 1));
        for (int i = 10; i < 20; i++) {
            assertEquals(i + 1, (long) f.steps.get(i)[0]);
            assertEquals(longRun.lr(i), f.steps.get(i)[2], 1e-15, "resumed run, step " + (i + 1));
        }
        assertTrue(f.console().contains("at step 10 of 20 (was 10 planned)"), f.console());
        assertTrue(Files.exists(dir.resolve("out/checkpoints/step-20")));
    }

    @Test void resumingAFinishedRunWithoutMoreStepsSaysWhatToDo() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 1);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            f.run(task);
        }
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            TrainingException e = assertThrows(TrainingException.class, () -> f.run(task, new Resume.Latest()));
            assertTrue(e.getMessage().endsWith("has already trained 5 of the 5 planned steps; raise epochs or max_steps to train further"),
                    e.getMessage());
        }
    }

    @Test void aChangedBatchSizeIsRefusedByName() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 1);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            f.run(task);
        }
        f.set("batch_size", 3).set("epochs", 3);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            TrainingException e = assertThrows(TrainingException.class, () -> f.run(task, new Resume.Latest()));
            assertEquals("cannot resume from " + dir.resolve("out/checkpoints/step-5") + ": batch_size was 2 when it was saved and is 3 now;"
                    + " batch_size must not change on resume (set it back, or start a new run in another output_dir)", e.getMessage());
        }
        try (ToyLoraTask task = LoopFixture.task(12, 0, 0.0)) {  // the dataset grew
            f.set("batch_size", 2);
            TrainingException e = assertThrows(TrainingException.class, () -> f.run(task, new Resume.Latest()));
            assertTrue(e.getMessage().contains("train examples was 10 when it was saved and is 12 now"), e.getMessage());
        }
    }

    @Test void resumeFromAPathChecksTheFolder() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 1);
        Path missing = dir.resolve("nowhere/step-3");
        Path incomplete = Files.createDirectories(dir.resolve("half/step-3"));
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            TrainingException e = assertThrows(TrainingException.class, () -> f.run(task, new Resume.From(missing)));
            assertEquals("--resume " + missing + ": no such checkpoint folder; give a checkpoints/step-N folder or 'latest'", e.getMessage());
            e = assertThrows(TrainingException.class, () -> f.run(task, new Resume.From(incomplete)));
            assertTrue(e.getMessage().startsWith("--resume " + incomplete + ": not a complete checkpoint (needs trainer_state.json"), e.getMessage());
            e = assertThrows(TrainingException.class, () -> f.run(task, new Resume.Latest()));
            assertTrue(e.getMessage().startsWith("--resume latest: no complete checkpoint in " + dir.resolve("out/checkpoints")), e.getMessage());
        }
    }

    @Test void resumeFromAnOlderCheckpointByPath() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2).set("save_steps", 3);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.2)) {
            f.run(task);
        }
        double[] original = f.losses();
        f.steps.clear();
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.2)) {
            f.run(task, new Resume.From(dir.resolve("out/checkpoints/step-6")));
        }
        double[] again = f.losses();
        assertEquals(4, again.length);
        for (int i = 0; i < 4; i++) assertEquals(original[6 + i], again[i], 1e-6, "step " + (7 + i));
    }
}
