package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ConfigLoader;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.io.Json;
import org.lorascripts.tasks.llm.LlmLoraTask;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tasks.Trainers;

/**
 * examples/quickstart-text.yaml trains end to end on the CPU: the pretrained tiny LLaMA's loss on
 * the held-out tea sentences drops by several nats, its completions move to tea and stay text, and
 * ./lora generate loads the adapter.
 */
class QuickstartTextTest {
    @TempDir Path dir;

    static final List<String> TEA_WORDS = List.of("tea", "water", "leaves", "steep", "brew", "degrees", "cup", "pot", "minutes");

    static int teaWords(String s) {
        int n = 0;
        for (String w : s.toLowerCase(Locale.ROOT).split("[^a-z]+")) if (TEA_WORDS.contains(w)) n++;
        return n;
    }

    @Test void trainsWritesEverythingAndMovesTheModelToTheDomain() throws Exception {
        Trainers.reset();
        Path out = dir.resolve("run");
        var r = CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", "examples/quickstart-text.yaml",
                "--set", "output_dir=" + out, "--set", "device=cpu");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err(), "the example trains without warnings");

        List<Double> losses = new ArrayList<>(), vals = new ArrayList<>();
        for (String line : Files.readAllLines(out.resolve("logs/metrics.jsonl"))) {
            var o = Json.parse(line);
            if (o.path("train/loss").isFloatingPointNumber()) losses.add(o.get("train/loss").doubleValue());
            if (o.path("val/loss").isFloatingPointNumber()) vals.add(o.get("val/loss").doubleValue());
        }
        assertEquals(28, losses.size(), "280 steps logged every 10");
        assertTrue(losses.getLast() < losses.getFirst() - 5, "the training loss falls far: " + losses);

        // the base model's loss on the same held-out sentences (a fresh LoRA is zero, so this is the base)
        double base = baseValidationLoss(out);
        double best = vals.stream().mapToDouble(Double::doubleValue).min().orElseThrow();
        System.out.printf("quickstart-text: held-out loss base %.2f -> best %.2f nats/token%n", base, best);
        assertTrue(best < base - 3, "the held-out tea sentences: " + base + " -> " + best);

        for (String f : List.of("quickstart_text/adapter_config.json", "quickstart_text/adapter_model.safetensors",
                "checkpoints/step-280/quickstart_text/adapter_model.safetensors", "samples/step-70-sample_0.txt")) {
            assertTrue(Files.exists(out.resolve(f)), f);
        }
        int baseTea = 0, loraTea = 0;
        for (int i = 0; i < 2; i++) {
            String sample = Files.readString(out.resolve("samples/step-280-sample_" + i + ".txt"));
            String[] lines = sample.split("\n");
            assertEquals(3, lines.length, sample);
            assertTrue(lines[0].startsWith("prompt: ") && lines[1].startsWith("base:   ") && lines[2].startsWith("LoRA:   "), sample);
            assertTrue(lines[2].substring(8).matches("[A-Za-z0-9 ,.'()-]+"), "the completion reads as text: " + lines[2]);
            baseTea += teaWords(lines[1]);
            loraTea += teaWords(lines[2]);
        }
        assertTrue(loraTea >= baseTea + 2, "the LoRA writes about tea (" + loraTea + " tea words) where the base did not (" + baseTea + ")");
        assertTrue(Files.readString(out.resolve("samples/step-70-sample_0.txt")).contains("base:"), "every sample carries the base's completion");

        var g = CliTrainCommandTest.run(Main.newCommandLine(), "generate", "--base", "builtin:tiny-llama", "--lora",
                out.resolve("quickstart_text").toString(), "--prompt", "Black tea", "--max-new-tokens", "32", "--device", "cpu");
        assertEquals(0, g.code(), g.err());
        assertTrue(teaWords(g.out()) > 0, "a completion about tea: " + g.out());
    }

    private static double baseValidationLoss(Path out) {
        TrainConfig c = ConfigLoader.load(Path.of("examples/quickstart-text.yaml"), List.of("output_dir=" + out.resolveSibling("base"), "device=cpu"))
                .config();
        Rng.manualSeed(c.loop().seed());
        try (LlmLoraTask task = new LlmLoraTask(c); Autograd.GradMode g = Autograd.noGrad()) {
            double sum = 0, weight = 0;
            for (int i = 0; i < task.valSize(); i++) {
                int[] idx = {i};
                try (Scope s = Scope.open()) {
                    sum += task.lossSum(idx, true).item();
                }
                weight += task.weight(idx, true);
            }
            return sum / weight;
        }
    }
}
