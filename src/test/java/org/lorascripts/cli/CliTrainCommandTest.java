package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.TaskType;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.train.Resume;
import org.lorascripts.tasks.Trainers;
import picocli.CommandLine;

class CliTrainCommandTest {
    @TempDir Path dir;

    /** Exit code, stdout and stderr of one CLI run. */
    record Run(int code, String out, String err) {}

    static Run run(CommandLine cmd, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    static Run run(String... args) {
        return run(new CommandLine(new Main()), args);
    }

    @Test void dryRunOnTheQuickstart() {
        Run r = run("train", "--config", "examples/quickstart.yaml", "--dry-run");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("images                 12"), r.out());
        assertTrue(r.out().contains("captions               12 (12 from metadata.csv, 0 from .txt files)"), r.out());
        assertTrue(r.out().contains("steps per epoch        3 = ceil(ceil(12 / 4) / 1)"), r.out());
        assertTrue(r.out().contains("total steps            120"), r.out());
        assertTrue(r.out().contains("effective batch        4"), r.out());
        assertTrue(r.out().contains("  * batch_size                   4   (default: 1)"), r.out());
        assertTrue(r.out().contains("  * learning_rate                0.003"), r.out());
        assertTrue(r.out().contains("train_config:"), r.out());
        assertTrue(r.out().endsWith("dry run: the config is valid; nothing was trained.\n"), r.out());
        assertEquals("", r.err());
    }

    @Test void dryRunOnTheTextQuickstartWithOverrides() {
        Run r = run("train", "--config", "examples/quickstart-text.yaml", "--dry-run", "--set", "batch_size=8",
                "--set", "gradient_accumulation_steps=2", "--set", "lora_alpha=64");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("examples               60 (60 text lines, 0 jsonl lines)"), r.out());
        assertTrue(r.out().contains("train examples         54 (validation 6, val_ratio 0.1)"), r.out());
        assertTrue(r.out().contains("steps per epoch        4 = ceil(ceil(54 / 8) / 2)"), r.out());
        assertTrue(r.out().contains("total steps            80"), r.out());
        assertFalse(r.out().contains("clip_skip"), "image keys are not shown for text tasks");
        // warnings name where their key was set, here the --set argument
        assertTrue(r.err().startsWith("warning: --set lora_alpha=64: lora_alpha 64.0 is more than 2x lora_rank 8"), r.err());
    }

    @Test void unknownKeyExitsTwoWithOneLineAndNoStackTrace() throws Exception {
        Path cfg = Files.writeString(dir.resolve("my.yaml"), "base_model: builtin:tiny-sd\ntrain_data_dir: d\nlearning_rat: 1\n");
        Run r = run("train", "--config", cfg.toString(), "--dry-run");
        assertEquals(2, r.code());
        assertEquals("error: " + cfg + ":3: unknown key 'learning_rat' (did you mean 'learning_rate'?)\n", r.err());
        assertEquals("", r.out());
    }

    @Test void badOverrideExitsTwo() {
        Run r = run("train", "--config", "examples/quickstart.yaml", "--set", "batch_size=four", "--dry-run");
        assertEquals(2, r.code());
        assertEquals("error: --set batch_size=four: batch_size must be an integer >= 1, got 'four'\n", r.err());
    }

    @Test void missingDataAndMissingConfigAreUserErrors() throws Exception {
        Path cfg = Files.writeString(dir.resolve("c.yaml"), "base_model: builtin:tiny-sd\ntrain_data_dir: 没有 数据\n");
        Run r = run("train", "--config", cfg.toString(), "--dry-run");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: train_data_dir '" + dir.resolve("没有 数据") + "' does not exist"), r.err());
        Run none = run("train");
        assertEquals(2, none.code());
        assertEquals("error: missing --config FILE, e.g. ./lora train --config examples/quickstart.yaml\n", none.err());
        Run noFile = run("train", "--config", "nope.yaml");
        assertEquals("error: config file not found: nope.yaml\n", noFile.err());
    }

    @Test void missingBaseModelFailsTheDryRunAndTheRun() throws Exception {
        // a missing base model used to be only a warning in the dry run; now the dry run fails as the run would
        Path data = Files.createDirectories(dir.resolve("imgs"));
        Files.write(data.resolve("a.png"), new byte[] {1});
        Path cfg = Files.writeString(dir.resolve("c.yaml"), "base_model: models/x.safetensors\ntrain_data_dir: imgs\n");
        String expected = "error: " + cfg + ":1: base_model " + dir.resolve("models/x.safetensors")
                + " does not exist; download the model there or fix the path\n";
        Run dry = run("train", "--config", cfg.toString(), "--dry-run");
        assertEquals(2, dry.code(), dry.err());
        assertTrue(dry.err().endsWith(expected), dry.err());
        assertFalse(dry.out().contains("dry run: the config is valid"), dry.out());
        Run real = run("train", "--config", cfg.toString());
        assertEquals(2, real.code());
        assertTrue(real.err().endsWith(expected), real.err());
    }

    @Test void everyConfigProblemIsPrintedOnItsOwnErrorLine() throws Exception {
        Path cfg = Files.writeString(dir.resolve("my.yaml"), "base_model: builtin:tiny-sd\ntrain_data_dir: d\nlearning_rat: 1\n"
                + "lora_rank:\nmax_train_steps: 99999999999999999999\n");
        Run r = run("train", "--config", cfg.toString(), "--dry-run", "--set", "flip_aug=maybe");
        assertEquals(2, r.code());
        assertEquals("error: " + cfg + ":3: unknown key 'learning_rat' (did you mean 'learning_rate'?)\n"
                + "error: " + cfg + ":4: lora_rank: empty value; give a number or remove the line\n"
                + "error: " + cfg + ":5: max_train_steps must be an integer >= 0, got '99999999999999999999' (too large: at most 2147483647)\n"
                + "error: --set flip_aug=maybe: flip_aug must be true or false, got 'maybe'\n", r.err());
        assertEquals("", r.out());
    }

    @Test void withoutATrainerTrainingExitsThree() {
        Trainers.unregister(TaskType.IMAGE_GENERATION);
        try {
            Run r = run("train", "--config", "examples/quickstart.yaml");
            assertEquals(3, r.code());
            assertTrue(r.out().contains("steps per epoch"), "the summary is printed first");
            assertTrue(r.err().endsWith("error: training for image-generation is not available in this build (no trainer"
                    + " registered); --dry-run still checks the config and data\n"), r.err());
        } finally {
            Trainers.reset();
        }
    }

    @Test void aRegisteredTrainerGetsTheConfigAndResume() {
        AtomicReference<TrainConfig> got = new AtomicReference<>();
        AtomicReference<Resume> resume = new AtomicReference<>();
        Trainers.register(TaskType.TEXT_GENERATION, () -> (c, r) -> { got.set(c); resume.set(r); });
        try {
            Run r = run("train", "--config", "examples/quickstart-text.yaml", "--resume", "latest");
            assertEquals(0, r.code(), r.err());
            assertEquals(4, got.get().loop().batchSize());
            assertEquals(new Resume.Latest(), resume.get());
        } finally {
            Trainers.reset();
        }
    }

    @Test void resumeFromAMissingPathIsAUserError() {
        Run r = run("train", "--config", "examples/quickstart.yaml", "--resume", "no/such.ckpt");
        assertEquals(2, r.code());
        assertEquals("error: --resume no/such.ckpt: no such checkpoint (give a checkpoint path or 'latest')\n", r.err());
    }

    @Test void unexpectedErrorsAreOneLineUnlessDebugging() {
        Trainers.register(TaskType.IMAGE_GENERATION, () -> (c, r) -> { throw new IllegalStateException("boom\nmore"); });
        try {
            Run r = run(Main.newCommandLine(), "train", "--config", "examples/quickstart.yaml");
            assertEquals(1, r.code());
            assertTrue(r.err().endsWith("error: unexpected IllegalStateException: boom\nhint: run with --debug (or LORA_DEBUG=1) for details\n"),
                    r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace");
        } finally {
            Trainers.reset();
        }
        StringWriter debug = new StringWriter();
        assertEquals(1, ErrorReporter.report(new IllegalStateException("boom"), new PrintWriter(debug), true));
        assertTrue(debug.toString().contains("\tat "), "LORA_DEBUG=1 prints the trace");
    }

    @Test void listKeysPrintsTheMarkdownTable() {
        Run r = run("train", "--list-keys");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("| `learning_rate` | train_config | all | number | 1e-4 | > 0 |"), r.out());
    }

    @Test void helpHasExamples() {
        Run r = run("train", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Examples:"), r.out());
        assertTrue(r.out().contains("./lora train --config examples/quickstart.yaml --dry-run"), r.out());
        assertTrue(r.out().contains("--set=KEY=VALUE"), r.out());
    }
}
