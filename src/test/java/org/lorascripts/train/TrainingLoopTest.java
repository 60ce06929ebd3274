package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.tensorboard.TfRecordReader;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

class TrainingLoopTest {
    @TempDir Path dir;

    @Test void lossFallsAndTheAdapterAndFinalCheckpointAreWritten() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 6);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.1)) {
            TrainingResult r = f.run(task);
            assertEquals(30, r.steps());
            assertFalse(r.interrupted());
            double[] l = f.losses();
            double firstEpoch = (l[0] + l[1] + l[2] + l[3] + l[4]) / 5, lastEpoch = (l[25] + l[26] + l[27] + l[28] + l[29]) / 5;
            assertTrue(lastEpoch < 0.5 * firstEpoch, "loss should fall: " + firstEpoch + " -> " + lastEpoch);
            Path adapter = dir.resolve("out/out.safetensors");
            assertEquals(adapter, r.adapter());
            try (SafetensorsFile sf = SafetensorsFile.open(adapter)) {
                assertEquals(List.of("lora.down", "lora.up"), sf.names().stream().sorted().toList());
                assertEquals("30", sf.metadata().get("training_step"));
            }
            JsonNode state = Json.readObject(dir.resolve("out/checkpoints/step-30/trainer_state.json"));
            assertEquals(Json.node(30), state.get("step"));
            assertEquals(Json.node(6), state.get("epoch"));
            assertEquals(Json.node(null), state.get("best_checkpoint"), "no validation, no best");
            assertTrue(f.console().contains("done: 30 steps"), f.console());
            assertNull(r.bestAdapter());
        }
    }

    @Test void eachStepHintsTheNextStepsBatches() throws Exception {
        // 10 examples, batch 3, accumulation 2: micro-batches of 3, 3 | 3, 1 per epoch, 2 steps an epoch, 3 epochs
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 3).set("batch_size", 3).set("gradient_accumulation_steps", 2);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            assertEquals(6, f.run(task).steps());
            // what each step trained (two micro-batches each), as "epoch:batch|batch|", the form the hints take
            assertEquals(12, task.trained.size(), task.trained.toString());
            List<String> steps = new ArrayList<>();
            for (int i = 0; i < task.trained.size(); i += 2) {
                String[] first = task.trained.get(i).split(":", 2), second = task.trained.get(i + 1).split(":", 2);
                assertEquals(first[0], second[0], "one epoch per step");
                steps.add(first[0] + ":" + first[1] + "|" + second[1] + "|");
            }
            assertEquals(6, steps.size(), task.trained.toString());
            assertEquals(steps.subList(1, 6), task.prefetched, "before each step but the last: the next step's batches and epoch");
        }
    }

    @Test void aWarmupLongerThanTheRunIsCutToTheRun() throws Exception {
        // a quick trial (max_train_steps 3) of a config with lr_warmup_steps 10 must train, not fail
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("max_train_steps", 3).set("lr_warmup_steps", 10)
                .set("lr_scheduler", "cosine");
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            TrainingResult r = f.run(task);
            assertEquals(3, r.steps());
            assertFalse(r.interrupted());
        }
    }

    @Test void tensorBoardAndJsonlGetTheExpectedTagsAndSamples() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2).set("eval_steps", 3).set("sample_every_n_steps", 4)
                .set("log_interval", 2);
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.0)) {
            task.emitSamples = true;
            f.run(task);
        }
        Path logs = dir.resolve("out/logs");
        Path events;
        try (Stream<Path> s = Files.list(logs)) {
            events = s.filter(p -> p.getFileName().toString().contains("tfevents")).findFirst().orElseThrow();
        }
        Set<String> tags = new TreeSet<>();
        for (byte[] rec : TfRecordReader.read(events).records()) tags.addAll(summaryTags(rec));
        assertTrue(tags.containsAll(List.of("train/loss", "train/lr", "train/grad_norm", "train/skipped_steps",
                "perf/steps_per_sec", "perf/samples_per_sec", "val/loss", "config", "preview/0", "completion/0")), tags.toString());
        assertFalse(tags.contains("train/loss_scale"), "fp32 has no loss scale");
        assertFalse(tags.contains("perf/device_memory_gib"), "no device memory on the CPU");
        assertFalse(tags.contains("val/perplexity"), "the toy task is not a token task");

        List<String> lines = Files.readAllLines(logs.resolve("metrics.jsonl"));
        long trainLines = lines.stream().filter(l -> l.contains("\"train/loss\"")).count();
        assertEquals(5, trainLines, "10 steps, log_interval 2");
        long valLines = lines.stream().filter(l -> l.contains("\"val/loss\"")).count();
        assertEquals(4, valLines, "eval at 3, 6, 9 and the last step 10");
        // samples every 4 steps (4, 8) and at the end (10), each as png + txt
        for (long s : new long[] {4, 8, 10}) {
            assertTrue(Files.exists(dir.resolve("out/samples/step-" + s + "-preview_0.png")), "sample at " + s);
            assertEquals("step " + s, Files.readString(dir.resolve("out/samples/step-" + s + "-completion_0.txt")));
        }
        assertFalse(Files.exists(dir.resolve("out/samples/step-6-preview_0.png")));
    }

    /** Tags of the Summary values in a serialized Event (field 5 = summary, its field 1 = value, value's field 1 = tag). */
    static List<String> summaryTags(byte[] event) {
        List<String> tags = new ArrayList<>();
        for (byte[] summary : lengthDelimited(event, 5))
            for (byte[] value : lengthDelimited(summary, 1))
                for (byte[] tag : lengthDelimited(value, 1)) tags.add(new String(tag, StandardCharsets.UTF_8));
        return tags;
    }

    private static List<byte[]> lengthDelimited(byte[] msg, int field) {
        List<byte[]> r = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(msg).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            long key = varint(b);
            int wire = (int) (key & 7);
            switch (wire) {
                case 0 -> varint(b);
                case 1 -> b.getLong();
                case 5 -> b.getInt();
                case 2 -> {
                    byte[] v = new byte[(int) varint(b)];
                    b.get(v);
                    if ((key >>> 3) == field) r.add(v);
                }
                default -> throw new IllegalArgumentException("wire type " + wire);
            }
        }
        return r;
    }

    private static long varint(ByteBuffer b) {
        long r = 0;
        for (int shift = 0; ; shift += 7) {
            byte x = b.get();
            r |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) return r;
        }
    }

    @Test void ctrlCFinishesTheStepSavesAndReturns() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out"));
        f.stopAtStep = 3;
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.1)) {
            TrainingResult r = f.run(task);
            assertTrue(r.interrupted());
            assertEquals(3, r.steps());
            assertEquals(dir.resolve("out/checkpoints/step-3"), r.lastCheckpoint());
            assertTrue(CheckpointStore.isComplete(r.lastCheckpoint()));
            assertTrue(f.console().contains("stopped at step 3 of 20; checkpoint: " + r.lastCheckpoint()), f.console());
            assertTrue(f.console().contains("./lora train --config <your config> --resume latest"), f.console());
            assertFalse(Files.exists(dir.resolve("out/out.safetensors")), "an interrupted run writes no final adapter");
        }
    }

    @Test void loopTrainerTurnsCtrlCIntoTheInterruptedException() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out"));
        f.stopAtStep = 2;
        LoopTrainer trainer = new LoopTrainer(c -> new ToyLoraTask(10, 0, 0.0), f.options(new Resume.None()));
        TrainingInterruptedException e = assertThrows(TrainingInterruptedException.class, () -> trainer.train(f.config(), new Resume.None()));
        assertTrue(e.getMessage().contains("step 2"), e.getMessage());
    }

    @Test void fp16OnTheCpuFallsBackToFp32() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("mixed_precision", "fp16").set("epochs", 1);
        LoopFixture g = new LoopFixture(dir.resolve("out32")).set("mixed_precision", "no").set("epochs", 1);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0); ToyLoraTask task32 = LoopFixture.task(10, 0, 0.0)) {
            assertEquals(5, f.run(task).steps());
            g.run(task32);
            org.junit.jupiter.api.Assertions.assertArrayEquals(g.losses(), f.losses(), "same trajectory as fp32");
        }
        assertEquals("note: mixed_precision fp16 needs a CUDA GPU; training on cpu runs in fp32 (bf16 also works on the CPU)",
                Precision.fallbackNote(org.lorascripts.config.MixedPrecision.FP16, org.lorascripts.tensor.Device.CPU));
    }

    @Test void bf16OnTheCpuTrains() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("mixed_precision", "bf16").set("epochs", 1);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            assertEquals(5, f.run(task).steps());
            for (double l : f.losses()) assertTrue(Double.isFinite(l));
        }
    }

    @Test void anUnwritableOutputDirIsOneClearError() throws Exception {
        Path blocker = Files.writeString(dir.resolve("blocker"), "a file, not a folder");
        LoopFixture f = new LoopFixture(blocker.resolve("out"));
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            TrainingException e = assertThrows(TrainingException.class, () -> f.run(task));
            assertTrue(e.getMessage().startsWith("output_dir " + blocker.resolve("out") + " is not writable ("), e.getMessage());
            assertTrue(e.getMessage().endsWith("set output_dir to a folder you can write to, or fix its permissions"), e.getMessage());
        }
    }

    @Test void aFreshRunRefusesToMixIntoExistingCheckpoints() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 1);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            f.run(task);
        }
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            TrainingException e = assertThrows(TrainingException.class, () -> f.run(task));
            assertTrue(e.getMessage().contains("already holds checkpoints (newest step-5); continue them with --resume latest"), e.getMessage());
        }
    }

    @Test void noTensorLeaksOnceTheLoopAndTaskAreDone() throws Exception {
        System.gc();
        Thread.sleep(100);  // let the Cleaner free tensors earlier tests dropped, so the baseline is stable
        long before = org.lorascripts.tensor.LiveTensors.settle();
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2).set("eval_steps", 3).set("save_steps", 4)
                .set("save_total_limit", 1).set("gradient_accumulation_steps", 2);
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.2)) {
            task.emitSamples = true;
            f.run(task);
        }
        f.stopAtStep = 12;  // resume, then Ctrl-C: the other exit path
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.2)) {
            f.set("epochs", 3).run(task, new Resume.Latest());
        }
        assertEquals(before, Tensor.liveCount(), "tensors left alive by the loop");
    }

    @Test void theDeviceSettingResolves() {
        assertEquals(Device.CPU, TrainingDevice.resolve("cpu"));
        TrainingException e = assertThrows(TrainingException.class, () -> TrainingDevice.resolve("cuda:99"));
        assertTrue(e.getMessage().startsWith("device cuda:99 is not available"), e.getMessage());
    }
}
