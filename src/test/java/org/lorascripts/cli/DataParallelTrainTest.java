package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.dist.ProcessGroup;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.tasks.Trainers;
import org.lorascripts.tensor.DType;

/**
 * Data-parallel training through the CLI on the CPU (Gloo), with examples/quickstart-text.yaml's tiny LLaMA
 * (its loss has no random draws, so ranks and one process must agree): 2 worker processes of batch_size 2 give
 * the LoRA of one process with the same global batch (4) within float tolerance; a 2-rank checkpoint resumes on
 * one process; a killed rank stops the job with one clear line instead of a hang.
 */
class DataParallelTrainTest {
    @TempDir Path dir;

    @BeforeAll static void needsDist() {
        assumeTrue(ProcessGroup.available(), "the native shim was built without c10d/gloo (apt-get install libgloo-dev)");
    }

    /** The quickstart, shortened: 3 steps, no generation, fp32 adapter, a checkpoint at step 2. */
    static List<String> args(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--config", "examples/quickstart-text.yaml", "--set", "output_dir=" + out,
                "--set", "device=cpu", "--set", "max_steps=3", "--set", "eval_prompts=[]", "--set", "save_precision=fp32",
                "--set", "save_steps=2", "--set", "sample_every_n_steps=0", "--dist-timeout", "60"));
        a.addAll(List.of(more));
        return a;
    }

    static CliTrainCommandTest.Run train(List<String> args) {
        Trainers.reset();
        return CliTrainCommandTest.run(Main.newCommandLine(), args.toArray(String[]::new));
    }

    static Map<String, float[]> adapter(Path out) throws IOException {
        return tensors(out.resolve("quickstart_text").resolve("adapter_model.safetensors"));
    }

    static Map<String, float[]> tensors(Path file) throws IOException {
        Map<String, float[]> m = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (TensorInfo t : f.tensors()) {
                assertEquals(DType.F32, t.dtype(), t.name());
                m.put(t.name(), f.data(t.name()).toArray(ValueLayout.JAVA_FLOAT));
            }
        }
        return m;
    }

    static double maxAbsDiff(Map<String, float[]> a, Map<String, float[]> b) {
        assertEquals(a.keySet(), b.keySet());
        double d = 0;
        for (String k : a.keySet()) {
            float[] x = a.get(k), y = b.get(k);
            for (int i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
        }
        return d;
    }

    static double maxAbs(Map<String, float[]> a) {
        double d = 0;
        for (float[] x : a.values()) for (float v : x) d = Math.max(d, Math.abs(v));
        return d;
    }

    static List<Double> trainLosses(Path out) throws IOException {
        List<Double> l = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("logs/metrics.jsonl"))) {
            var o = Json.parse(line);
            if (o.path("train/loss").isFloatingPointNumber()) l.add(o.get("train/loss").doubleValue());
        }
        return l;
    }

    @Test void twoRanksGiveTheLoraOfOneProcessWithTheSameGlobalBatchAndTheirCheckpointResumesOnOne() throws Exception {
        Path one = dir.resolve("one"), two = dir.resolve("two"), small = dir.resolve("small"), resumed = dir.resolve("resumed");
        var r1 = train(args(one, "--set", "batch_size=4", "--set", "log_interval=1"));
        assertEquals(0, r1.code(), r1.err());
        var r2 = train(args(two, "--set", "batch_size=2", "--set", "log_interval=1", "--nproc", "2"));
        assertEquals(0, r2.code(), r2.err() + r2.out());
        assertTrue(r2.out().contains("effective batch        4 (batch_size 2 x gradient_accumulation_steps 1 x world_size 2)"), r2.out());
        assertTrue(r2.out().contains("rank 0 of 2 joined (gloo"), r2.out());
        String rank1 = Files.readString(two.resolve("worker-logs/rank-1.txt"), StandardCharsets.UTF_8);
        assertTrue(rank1.contains("rank 1 of 2 joined (gloo"), rank1);

        // rank 0's LoRA is one bucket (under the first bucket's 1 MiB), sent as backward ends
        assertTrue(r2.out().contains("rank 0: gradient sums during backward: 0 of 3 bucket sums were in flight while backward still ran"
                + " (1 bucket of at most 25 MiB)"), r2.out());
        Map<String, float[]> a1 = adapter(one), a2 = adapter(two);
        double scale = maxAbs(a1), diff = maxAbsDiff(a1, a2);
        // the sums after backward (the path without gradient hooks) give the same LoRA: with 2 ranks each sum
        // is a + b in either case; 4 KiB buckets make the overlapped run send most buckets during backward
        Path after = dir.resolve("after"), small4k = dir.resolve("small-buckets");
        var ra = train(args(after, "--set", "batch_size=2", "--nproc", "2", "--dist-bucket-mb", "0"));
        assertEquals(0, ra.code(), ra.err() + ra.out());
        assertFalse(ra.out().contains("gradient sums during backward"), ra.out());
        var rk = train(args(small4k, "--set", "batch_size=2", "--nproc", "2", "--dist-bucket-mb", "0.00390625"));
        assertEquals(0, rk.code(), rk.err() + rk.out());
        assertTrue(earlySums(rk.out()) > 0, rk.out());
        assertEquals(0.0, maxAbsDiff(a2, adapter(after)), 1e-7 * scale, "overlapped vs after backward");
        assertEquals(0.0, maxAbsDiff(a2, adapter(small4k)), 1e-7 * scale, "one bucket vs many");
        // one process with batch_size 2 sees other examples per step: the tolerance below must tell it apart
        var rs = train(args(small, "--set", "batch_size=2"));
        assertEquals(0, rs.code(), rs.err());
        double other = maxAbsDiff(a1, adapter(small));
        System.out.printf("data parallel: max |LoRA 1 process - 2 ranks| = %.3g, vs batch 2 on 1 process %.3g (max |w| %.3g)%n", diff, other, scale);
        // float32 sums in another order (batches of 2 instead of 4, then the all-reduce); AdamW's first steps move
        // every weight by about lr whatever the gradient's size, so small differences do not shrink with it
        double tol = 5e-4 * scale;
        assertTrue(diff < tol, "2 ranks x batch 2 vs 1 process x batch 4: " + diff + " (tolerance " + tol + ")");
        assertTrue(other > 20 * tol, "a different global batch must differ clearly: " + other);

        // the loss figures are the global batch's: the same rows as one process's
        List<Double> l1 = trainLosses(one), l2 = trainLosses(two);
        assertEquals(3, l1.size());
        assertEquals(l1.size(), l2.size(), "only rank 0 writes metrics.jsonl");
        for (int i = 0; i < l1.size(); i++) assertEquals(l1.get(i), l2.get(i), 1e-5 * Math.abs(l1.get(i)), "train/loss of step " + (i + 1));
        assertTrue(Files.isDirectory(two.resolve("checkpoints/step-2")) && Files.isDirectory(two.resolve("checkpoints/step-3")));

        // the 2-rank checkpoint of step 2 continues on one process: 2 micro-batches of 2 per step, as the 2 ranks took
        var rr = train(args(resumed, "--set", "batch_size=2", "--set", "gradient_accumulation_steps=2", "--set", "log_interval=1",
                "--resume", two.resolve("checkpoints/step-2").toString()));
        assertEquals(0, rr.code(), rr.err());
        assertEquals(1, trainLosses(resumed).size(), "the resumed run trains step 3 only");
        assertEquals(l2.get(2), trainLosses(resumed).get(0), 1e-5 * Math.abs(l2.get(2)), "step 3's loss");
        double resumedDiff = maxAbsDiff(a2, adapter(resumed));
        assertTrue(resumedDiff < tol, "resumed on 1 process vs the 2-rank run: " + resumedDiff);

        // and a 2-rank checkpoint refuses a resume that would change the examples of each step
        var bad = train(args(dir.resolve("bad"), "--set", "batch_size=2", "--resume", two.resolve("checkpoints/step-2").toString()));
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("gradient_accumulation_steps was 2 when it was saved and is 1 now"), bad.err());
    }

    /** The number of bucket sums rank 0 had in flight while backward still ran (its closing line). */
    static long earlySums(String out) {
        var m = java.util.regex.Pattern.compile("rank 0: gradient sums during backward: (\\d+) of (\\d+) bucket sums").matcher(out);
        assertTrue(m.find(), out);
        System.out.println(out.lines().filter(l -> l.startsWith("rank 0: gradient sums")).findFirst().orElse(""));
        return Long.parseLong(m.group(1));
    }

    static List<String> imageArgs(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--config", "examples/quickstart.yaml", "--set", "output_dir=" + out,
                "--set", "device=cpu", "--set", "max_steps=2", "--set", "sample_prompts=[]", "--set", "sample_every_n_steps=0",
                "--set", "log_interval=1", "--set", "save_precision=fp32", "--nproc", "2"));
        a.addAll(List.of(more));
        return a;
    }

    @Test void theImageQuickstartTrainsOnTwoRanksWithItsBucketBatches() throws Exception {
        // 12 images, batch 4: 3 micro-batches per epoch, so step 2 gives rank 1 none (it sends zero gradients,
        // every bucket after its absent backward). 64 KiB buckets: the UNet LoRA's buckets leave during backward.
        Path out = dir.resolve("sd"), after = dir.resolve("sd-after");
        var r = train(imageArgs(out, "--dist-bucket-mb", "0.0625"));
        assertEquals(0, r.code(), r.err() + r.out());
        assertTrue(earlySums(r.out()) > 0, r.out());
        // the same run summing after backward: each rank draws the same noise, so the LoRAs agree
        var ra = train(imageArgs(after, "--dist-bucket-mb", "0"));
        assertEquals(0, ra.code(), ra.err() + ra.out());
        Map<String, float[]> during = tensors(out.resolve("quickstart.safetensors")), sumAfter = tensors(after.resolve("quickstart.safetensors"));
        double scale = maxAbs(during), diff = maxAbsDiff(during, sumAfter);
        System.out.printf("image data parallel: max |LoRA overlapped - summed after backward| = %.3g (max |w| %.3g)%n", diff, scale);
        assertTrue(diff <= 1e-6 * scale, "overlapped vs after backward: " + diff);
        assertTrue(r.out().contains("effective batch        8 (batch_size 4 x gradient_accumulation_steps 1 x world_size 2)"), r.out());
        try (SafetensorsFile f = SafetensorsFile.open(out.resolve("quickstart.safetensors"))) {
            assertEquals("2", f.metadata().get("ss_steps"));
            assertTrue(f.contains("lora_unet_down_blocks_0_resnets_0_conv1.lora_down.weight"));
        }
        var rows = Files.readAllLines(out.resolve("logs/metrics.jsonl"));
        assertEquals(2, rows.size(), "rank 0's rows only: " + rows);
        for (String row : rows) assertTrue(Double.isFinite(Json.parse(row).get("train/loss").doubleValue()), row);
        String rank1 = Files.readString(out.resolve("worker-logs/rank-1.txt"), StandardCharsets.UTF_8);
        assertTrue(rank1.contains("done: 2 steps"), rank1);
        assertTrue(Files.isDirectory(out.resolve("checkpoints/step-2")));
    }

    @Test void aDryRunShowsThePlanOfTheWholeJobAndBadValuesAreOneLine() {
        var r = train(List.of("train", "--config", "examples/quickstart.yaml", "--dry-run", "--nproc", "2"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("effective batch        8 (batch_size 4 x gradient_accumulation_steps 1 x world_size 2)"), r.out());
        assertTrue(r.out().contains("steps per epoch        2 = ceil(ceil(12 / 4) / (1 x 2))"), r.out());
        assertTrue(r.out().contains("total steps            80"), r.out());
        var bad = train(List.of("train", "--config", "examples/quickstart.yaml", "--dry-run", "--nproc", "0"));
        assertEquals(2, bad.code());
        assertEquals("error: --nproc 0: the number of worker processes must be at least 1", bad.err().strip());
        var badBucket = train(List.of("train", "--config", "examples/quickstart.yaml", "--dry-run", "--nproc", "2", "--dist-bucket-mb", "-1"));
        assertEquals(2, badBucket.code());
        assertEquals("error: --dist-bucket-mb -1.0: the bucket size must be between 0 (sum after backward) and 1048576 MiB", badBucket.err().strip());
    }

    /** The environment's RANK of a running process (Linux /proc), or -1. */
    static int rankOf(ProcessHandle p) {
        try {
            String env = Files.readString(Path.of("/proc", Long.toString(p.pid()), "environ"), StandardCharsets.ISO_8859_1);
            for (String kv : env.split("\0")) if (kv.startsWith("RANK=")) return Integer.parseInt(kv.substring(5));
        } catch (IOException | NumberFormatException ignored) {
            // not ours, or gone
        }
        return -1;
    }

    static void waitFor(Path file, String text, long seconds) throws Exception {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            if (Files.exists(file) && Files.readString(file, StandardCharsets.UTF_8).contains(text)) return;
            Thread.sleep(200);
        }
        throw new AssertionError(file + " never showed '" + text + "': " + (Files.exists(file) ? Files.readString(file) : "(missing)"));
    }

    @Test void aRankKilledUnderTheLauncherStopsTheJobWithOneLine() throws Exception {
        Path out = dir.resolve("killed");
        List<String> a = args(out, "--set", "max_steps=100000", "--set", "save_steps=0", "--nproc", "2");
        CompletableFuture<CliTrainCommandTest.Run> run = CompletableFuture.supplyAsync(() -> train(a));
        waitFor(out.resolve("worker-logs/rank-1.txt"), "rank 1 of 2 joined", 120);
        Thread.sleep(3000);  // into the steps
        ProcessHandle victim = ProcessHandle.current().children().filter(p -> rankOf(p) == 1).findFirst().orElseThrow();
        long t0 = System.nanoTime();
        victim.destroyForcibly();
        CliTrainCommandTest.Run r = run.get(90, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(1, r.code(), r.err());
        String last = r.err().strip().lines().reduce((x, y) -> y).orElse("");
        assertTrue(last.startsWith("error: rank 1 of 2 (pid " + victim.pid() + ") was killed by signal 9 (exit status 137); the other ranks were stopped"), r.err());
        assertTrue(seconds < 60, "took " + seconds + " s");
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertEquals(0, ProcessHandle.current().children().filter(p -> rankOf(p) >= 0).count(), "no worker left running");
    }

    @Test void ctrlCStopsAllRanksAtOneStepWithACheckpoint() throws Exception {
        // a terminal's Ctrl-C reaches every process of its group; here each worker gets its SIGINT by hand,
        // rank 1 a moment after rank 0, and the ranks still stop after the same step
        Path out = dir.resolve("ctrl-c");
        List<String> a = args(out, "--set", "max_steps=100000", "--set", "save_steps=0", "--set", "log_interval=1", "--nproc", "2");
        CompletableFuture<CliTrainCommandTest.Run> run = CompletableFuture.supplyAsync(() -> train(a));
        // rank 0 has logged step 2: both ranks are in the loop, Ctrl-C handling installed (before it, SIGINT ends a JVM)
        waitFor(out.resolve("logs/metrics.jsonl"), "{\"step\":2,", 120);
        List<ProcessHandle> workers = ProcessHandle.current().children().filter(p -> rankOf(p) >= 0)
                .sorted(java.util.Comparator.comparingInt(DataParallelTrainTest::rankOf)).toList();
        assertEquals(2, workers.size());
        for (ProcessHandle w : workers) {
            new ProcessBuilder("kill", "-INT", Long.toString(w.pid())).start().waitFor();
            Thread.sleep(300);
        }
        CliTrainCommandTest.Run r = run.get(120, TimeUnit.SECONDS);
        assertEquals(130, r.code(), r.err());
        List<Path> checkpoints;
        try (var s = Files.list(out.resolve("checkpoints"))) {
            checkpoints = s.toList();
        }
        assertEquals(1, checkpoints.size(), checkpoints + "\n" + r.out() + r.err() + Files.readString(out.resolve("worker-logs/rank-1.txt")));
        String step = checkpoints.get(0).getFileName().toString().substring("step-".length());
        String rank1 = Files.readString(out.resolve("worker-logs/rank-1.txt"));
        assertTrue(rank1.contains("stopped at step " + step + " of 100000"), "rank 1 stopped at rank 0's step " + step + ": " + rank1);
    }

    @Test void workersStopWhenTheirLauncherIsKilled() throws Exception {
        Path out = dir.resolve("orphans");
        List<String> cmd = new ArrayList<>(WorkerLauncher.javaCommand());
        cmd.addAll(args(out, "--set", "max_steps=100000", "--set", "save_steps=0", "--nproc", "2"));
        Process launcher = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("launcher.txt").toFile()).start();
        try {
            waitFor(out.resolve("worker-logs/rank-1.txt"), "rank 1 of 2 joined", 120);
            // its children are the workers; a worker may have a short-lived helper of its own (a probe), which is not counted
            List<ProcessHandle> workers = launcher.children().toList();
            assertEquals(2, workers.size(), workers.stream().map(h -> h.pid() + " " + h.info().commandLine().orElse("?")).toList().toString());
            launcher.destroyForcibly();  // SIGKILL: no chance to stop its workers itself
            for (ProcessHandle w : workers) {
                assertTrue(w.onExit().thenApply(p -> true).completeOnTimeout(false, 30, TimeUnit.SECONDS).get(), "worker " + w.pid() + " still runs");
            }
            assertTrue(Files.readString(out.resolve("worker-logs/rank-1.txt")).contains("error: the launcher (pid " + launcher.pid() + ") is gone; stopping this worker"));
        } finally {
            launcher.descendants().forEach(ProcessHandle::destroyForcibly);
            launcher.destroyForcibly();
        }
    }

    @Test void workersOfAnExternalLauncherJoinAndOneNoticesItsPeerDie() throws Exception {
        Path out = dir.resolve("external");
        List<Process> ps = new ArrayList<>();
        int port = WorkerLauncher.freePort();
        try {
            for (int r = 0; r < 2; r++) {
                List<String> cmd = new ArrayList<>(WorkerLauncher.javaCommand());
                cmd.addAll(args(out, "--set", "max_steps=100000", "--set", "save_steps=0", "--set", "log_interval=1"));
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(false)
                        .redirectOutput(dir.resolve("out-" + r + ".txt").toFile()).redirectError(dir.resolve("err-" + r + ".txt").toFile());
                // what torchrun sets (LOCAL_RANK left out: it defaults to RANK)
                pb.environment().putAll(Map.of("MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port), "WORLD_SIZE", "2", "RANK", Integer.toString(r)));
                ps.add(pb.start());
            }
            waitFor(dir.resolve("out-1.txt"), "rank 1 of 2 joined (gloo, store 127.0.0.1:" + port + ")", 120);
            waitFor(dir.resolve("out-0.txt"), "rank 0 of 2 joined", 30);
            waitFor(dir.resolve("out-0.txt"), "step 3/100000", 120);  // training, so the next collective is a gradient sum
            long t0 = System.nanoTime();
            ps.get(1).destroyForcibly();
            assertTrue(ps.get(0).waitFor(60, TimeUnit.SECONDS), "rank 0 must stop on its own within the timeout, not hang");
            double seconds = (System.nanoTime() - t0) / 1e9;
            String err = Files.readString(dir.resolve("err-0.txt"));
            assertEquals(2, ps.get(0).exitValue(), err);
            List<String> errors = err.lines().filter(l -> l.startsWith("error: ")).toList();
            assertEquals(1, errors.size(), "one error line: " + err);
            assertTrue(errors.get(0).startsWith("error: rank 0 of 2: all_reduce failed (gloo all_reduce:"), err);
            assertFalse(err.contains("\tat "), "no stack trace: " + err);
            System.out.printf("external launcher: rank 0 stopped %.1f s after rank 1 was killed%n", seconds);
        } finally {
            for (Process p : ps) p.destroyForcibly();
        }
    }
}
