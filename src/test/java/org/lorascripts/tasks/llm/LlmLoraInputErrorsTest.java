package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.cli.Main;
import org.lorascripts.data.DatasetException;
import org.lorascripts.tasks.Trainers;
import org.lorascripts.train.TrainingException;
import picocli.CommandLine;

/** Bad inputs give one clear line: empty data, malformed JSONL (through ./lora train), long examples, wrong targets. */
class LlmLoraInputErrorsTest {
    @TempDir Path dir;

    @Test void anEmptyDataFileIsNamed() throws Exception {
        Path empty = LlmLoraFixture.writeData(dir.resolve("data/empty.txt"), List.of("", "  "));
        LlmLoraFixture f = new LlmLoraFixture(dir.resolve("out"), empty);
        DatasetException e = assertThrows(DatasetException.class, f::task);
        assertEquals(empty + " is empty: no training examples", e.getMessage());
    }

    @Test void aMalformedJsonlLineFailsTrainWithFileAndLine() throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/d.jsonl"), List.of(
                "{\"text\": \"Green tea likes cool water.\"}", "{\"text\": \"Black tea likes it hot.\"", "{\"text\": \"Tea.\"}"));
        Path cfg = Files.writeString(dir.resolve("c.yaml"), "task_type: text-generation\nbase_model: builtin:tiny-llama\n"
                + "train_data_dir: data/d.jsonl\ndevice: cpu\noutput_dir: out\n");
        Trainers.reset();
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cmd = Main.newCommandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute("train", "--config", cfg.toString());
        assertEquals(2, code, err.toString());
        List<String> errors = err.toString().lines().filter(l -> !l.startsWith("warning: ")).toList();
        assertEquals(1, errors.size(), err.toString());
        assertTrue(errors.getFirst().startsWith("error: " + data + ":2: not valid JSON"), errors.getFirst());
        assertFalse(err.toString().contains("\tat "), "no stack trace");
    }

    @Test void aLongExampleIsTruncatedWithAWarning() throws Exception {
        String longLine = "The quick brown fox jumps over the lazy dog. ".repeat(12);
        Path data = LlmLoraFixture.writeData(dir.resolve("data/d.txt"), List.of("Short line.", longLine));
        LlmLoraFixture f = new LlmLoraFixture(dir.resolve("out"), data).set("max_seq_len", 32);
        try (LlmLoraTask task = f.task()) {
            assertEquals(32, task.trainData().example(1).length());
            assertEquals(1, task.warnings().size());
            assertTrue(task.warnings().getFirst().message().startsWith("1 of 2 training examples are longer than max_seq_len 32 tokens"),
                    task.warnings().getFirst().message());
        }
        assertTrue(f.console().startsWith("warning: 1 of 2 training examples are longer than max_seq_len 32"), f.console());
    }

    @Test void targetModulesThatMatchNothingAreRefusedWithTheLayerNames() throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/d.txt"), LlmLoraFixture.LINES);
        LlmLoraFixture f = new LlmLoraFixture(dir.resolve("out"), data).set("target_modules", List.of("qkv_proj"));
        TrainingException e = assertThrows(TrainingException.class, f::task);
        assertEquals("target_modules [qkv_proj] match no linear layer of builtin:tiny-llama; its layers are [down_proj, gate_proj,"
                + " k_proj, o_proj, q_proj, up_proj, v_proj] (or use all-linear)", e.getMessage());
    }

    @Test void aMissingAdapterForNetworkWeightsIsOneLine() throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/d.txt"), LlmLoraFixture.LINES);
        Path notAdapter = Files.createDirectories(dir.resolve("nothing"));
        LlmLoraFixture f = new LlmLoraFixture(dir.resolve("out"), data).set("network_weights", notAdapter.toString());
        TrainingException e = assertThrows(TrainingException.class, f::task);
        assertEquals(notAdapter + ": no adapter_config.json; not a PEFT adapter folder", e.getMessage());
    }
}
