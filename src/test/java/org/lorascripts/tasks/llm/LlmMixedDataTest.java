package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.cli.Main;
import org.lorascripts.tasks.Trainers;
import org.lorascripts.train.TrainingResult;
import picocli.CommandLine;

/** train_data with two tiny files of different formats: a training run, the dry-run counts, a missing file. */
class LlmMixedDataTest {
    @TempDir Path dir;

    private Path plain() throws Exception { return LlmLoraFixture.writeData(dir.resolve("data/plain.txt"), LlmLoraFixture.LINES.subList(0, 3)); }

    private Path alpaca() throws Exception {
        return LlmLoraFixture.writeData(dir.resolve("data/alpaca.jsonl"), List.of(
                "{\"instruction\": \"Name a tea.\", \"input\": \"\", \"output\": \"Green tea.\"}",
                "{\"instruction\": \"Name a colour.\", \"input\": \"\", \"output\": \"Blue.\"}",
                "{\"instruction\": \"Name a city.\", \"input\": \"\", \"output\": \"Paris.\"}",
                "{\"instruction\": \"Name a fruit.\", \"input\": \"\", \"output\": \"A pear.\"}",
                "{\"instruction\": \"Name a dog.\", \"input\": \"\", \"output\": \"Rex.\"}"));
    }

    @Test void trainsOnTheMixAndSaysHowItWasMade() throws Exception {
        Path a = plain(), b = alpaca();
        LlmLoraFixture f = new LlmLoraFixture(dir.resolve("out"), a).set("max_seq_len", 128).set("epochs", 1);
        f.settings.remove("train_data_dir");
        f.set("train_data", List.of(a.toString(), b.toString())).set("mix_strategy", "interleave_over");
        try (LlmLoraTask task = f.task()) {
            assertEquals(10, task.trainSize(), "round-robin over: max(3, 5) rounds of 2 datasets");
            TrainingResult r = f.run(task);
            assertEquals(5, r.totalSteps(), "10 examples / batch_size 2");
            for (double loss : f.losses()) assertTrue(Double.isFinite(loss) && loss > 0);
        }
        assertTrue(f.console().contains("data: dataset 0: " + a + ": 3 training examples, 5 in the mix"), f.console());
        assertTrue(f.console().contains("data: dataset 1: " + b + ": 5 training examples, 5 in the mix"), f.console());
        assertTrue(f.console().contains("data: mixed (interleave_over): 10 training examples per epoch"), f.console());
    }

    private record Run(int code, String out, String err) {}

    private Run train(String yaml, String... more) throws Exception {
        Path cfg = Files.writeString(dir.resolve("c.yaml"), "task_type: text-generation\nbase_model: builtin:tiny-llama\n"
                + "device: cpu\noutput_dir: out\nbatch_size: 2\nepochs: 3\n" + yaml);
        Trainers.reset();
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cmd = Main.newCommandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        List<String> args = new java.util.ArrayList<>(List.of("train", "--config", cfg.toString()));
        args.addAll(List.of(more));
        int code = cmd.execute(args.toArray(String[]::new));
        return new Run(code, out.toString(), err.toString());
    }

    @Test void theDryRunPrintsEachDatasetAndTheMix() throws Exception {
        Path a = plain(), b = alpaca();
        Run r = train("train_data: [data/plain.txt, data/alpaca.jsonl]\nmix_strategy: interleave_under\nval_ratio: 0.2\n", "--dry-run");
        assertEquals(0, r.code(), r.err());
        // val_ratio per dataset: round(3 * 0.2) = 1 and round(5 * 0.2) = 1; under: min(2, 4) rounds of 2 = 4
        assertTrue(r.out().contains("dataset 0              " + a + ": 1 file(s), 3 examples"), r.out());
        assertTrue(r.out().contains("dataset 1              " + b + ": 1 file(s), 5 examples"), r.out());
        assertTrue(r.out().contains("  dataset 0: " + a + ": 2 training examples (+1 validation), 2 in the mix"), r.out());
        assertTrue(r.out().contains("  dataset 1: " + b + ": 4 training examples (+1 validation), 2 in the mix"), r.out());
        assertTrue(r.out().contains("  mixed (interleave_under): 4 training examples per epoch, 2 validation"), r.out());
        assertTrue(r.out().contains("train examples         4 (validation 2"), r.out());
        assertTrue(r.out().contains("steps per epoch        2 = ceil(ceil(4 / 2) / 1)"), r.out());
    }

    @Test void aMissingFileIsOneLine() throws Exception {
        plain();
        Run r = train("train_data: [data/plain.txt, data/gone.jsonl]\n", "--dry-run");
        assertEquals(2, r.code(), r.out());
        assertEquals("error: train_data[1] " + dir.resolve("data/gone.jsonl") + " does not exist; put the training data there"
                + " or fix the path (relative paths are relative to the config file)\n", r.err());
        assertFalse(r.err().contains("\tat "));
    }
}
