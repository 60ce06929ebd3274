package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.JsonReader;
import org.lorascripts.io.JsonValue;
import org.lorascripts.train.Trainers;

/** examples/quickstart-text.yaml trains end to end on the CPU as its header says, and ./lora generate loads its adapter. */
class QuickstartTextTest {
    @TempDir Path dir;

    @Test void trainsWritesEverythingAndTheLossFalls() throws Exception {
        Trainers.reset();
        Path out = dir.resolve("run");
        long t0 = System.nanoTime();
        var r = CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", "examples/quickstart-text.yaml",
                "--set", "output_dir=" + out, "--set", "device=cpu");
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "the example trains without warnings");

        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("logs/metrics.jsonl"))) {
            if (((JsonValue.Obj) JsonReader.parse(line)).get("train/loss") instanceof JsonValue.Dec d) losses.add(d.value());
        }
        double first = losses.getFirst(), last = losses.getLast();
        System.out.printf("quickstart-text: %d logged losses, %.3f -> %.3f in %.1f s%n", losses.size(), first, last, seconds);
        assertEquals(45, losses.size(), "450 steps logged every 10");
        assertTrue(first > 5.5, "starts near a uniform guess over 385 tokens (ln 385 = 5.95): " + first);
        assertTrue(last < first - 1.5, "the loss falls clearly: " + first + " -> " + last);

        for (String f : List.of("quickstart_text/adapter_config.json", "quickstart_text/adapter_model.safetensors",
                "checkpoints/step-150", "checkpoints/step-300", "checkpoints/step-450/quickstart_text/adapter_model.safetensors",
                "samples/step-450-sample_0.txt", "samples/step-450-sample_1.txt")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        assertTrue(Files.readString(out.resolve("samples/step-450-sample_0.txt")).startsWith("To brew green tea, → "));
        try (var logs = Files.list(out.resolve("logs"))) {
            assertTrue(logs.anyMatch(p -> p.getFileName().toString().startsWith("events.out.tfevents.")), "TensorBoard events");
        }

        var g = CliTrainCommandTest.run(Main.newCommandLine(), "generate", "--base", "builtin:tiny-llama", "--adapter",
                out.resolve("quickstart_text").toString(), "--prompt", "To brew green tea,", "--max-new-tokens", "64", "--device", "cpu");
        assertEquals(0, g.code(), g.err());
        assertTrue(g.out().endsWith("\n") && g.out().length() > 1, "a completion: " + g.out());
    }
}
