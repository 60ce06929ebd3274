package org.lorascripts.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.lorascripts.config.ConfigTestFiles.error;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train_data, mix_strategy and interleave_probs: parsing (LLaMA-Factory's "0.7,0.3" too) and one-line errors. */
class MixConfigTest {
    @TempDir Path dir;

    private static final String TEXT = """
            task_type: text-generation
            base_model: builtin:tiny-llama
            """;

    private String errorWith(String yaml) { return error(dir, TEXT + yaml); }

    private TrainConfig load(String yaml) throws Exception {
        Path f = Files.writeString(dir.resolve("ok.yaml"), TEXT + yaml);
        return ConfigLoader.load(f, List.of()).config();
    }

    @Test void trainDataIsAListOfPathsBesideTheConfig() throws Exception {
        TrainConfig c = load("train_data: [a.jsonl, sub/b.json]\nmix_strategy: interleave_under\ninterleave_probs: \"0.7,0.3\"\n");
        assertEquals(List.of(dir.resolve("a.jsonl"), dir.resolve("sub/b.json")), c.text().trainData());
        assertEquals(MixStrategy.INTERLEAVE_UNDER, c.text().mixStrategy());
        assertEquals(List.of(0.7, 0.3), c.text().interleaveProbs());
        assertEquals(dir.resolve("a.jsonl"), c.data().trainDataDir());
        // a comma-separated string, as LLaMA-Factory's dataset list is written
        assertEquals(2, load("train_data: a.jsonl, b.json\n").text().trainData().size());
        // train_data_dir alone is the one dataset
        TrainConfig one = load("train_data_dir: d\n");
        assertEquals(List.of(dir.resolve("d")), one.text().trainData());
        assertEquals(MixStrategy.CONCAT, one.text().mixStrategy());
        assertEquals(List.of(), one.text().interleaveProbs());
    }

    @Test void probabilitiesMustFitTheDatasets() {
        assertEquals("my.yaml:5: interleave_probs has 3 probabilities but train_data has 2 datasets; give one per dataset,"
                + " in the same order", errorWith("train_data: [a, b]\nmix_strategy: interleave_over\ninterleave_probs: [0.2, 0.3, 0.5]\n"));
        assertEquals("my.yaml:5: interleave_probs [0.7, 0.2] sum to 0.9, not 1; scale them so they add up to 1",
                errorWith("train_data: [a, b]\nmix_strategy: interleave_under\ninterleave_probs: 0.7,0.2\n"));
        assertEquals("my.yaml:5: interleave_probs must be a number in [0, 1] or a list of 1 to 64 such numbers, got an item '-0.5'",
                errorWith("train_data: [a, b]\nmix_strategy: interleave_under\ninterleave_probs: [0.5, -0.5]\n"));
        assertEquals("my.yaml:4: interleave_probs only apply to mix_strategy interleave_under or interleave_over (mix_strategy"
                + " is concat); set one of those or remove interleave_probs", errorWith("train_data: [a, b]\ninterleave_probs: [0.5, 0.5]\n"));
        assertEquals("my.yaml:5: interleave_probs give a dataset probability 0, so interleave_over (run until every dataset"
                + " is used whole) would never end; remove that dataset or give it a probability > 0",
                errorWith("train_data: [a, b]\nmix_strategy: interleave_over\ninterleave_probs: [1, 0]\n"));
        assertEquals("my.yaml:4: mix_strategy must be one of concat, interleave_under, interleave_over, got 'interleave'",
                errorWith("train_data: [a, b]\nmix_strategy: interleave\n"));
    }

    @Test void entriesMayCarryTheirProbabilityOrWeight() throws Exception {
        TrainConfig c = load("train_data:\n  - {path: a.jsonl, probability: 0.25}\n  - path: b.json\n    probability: 0.75\n"
                + "mix_strategy: interleave_over\n");
        assertEquals(List.of(dir.resolve("a.jsonl"), dir.resolve("b.json")), c.text().trainData());
        assertEquals(List.of(0.25, 0.75), c.text().interleaveProbs());
        // weights are relative: divided by their sum
        TrainConfig w = load("train_data: [{path: a, weight: 3}, {path: b, weight: 1}]\nmix_strategy: interleave_under\n");
        assertEquals(List.of(0.75, 0.25), w.text().interleaveProbs());

        assertEquals("my.yaml:3: train_data gives a probability or weight to 1 of 2 datasets; give one to every dataset or to none",
                errorWith("train_data: [{path: a, weight: 3}, b]\nmix_strategy: interleave_under\n"));
        assertEquals("my.yaml:3: train_data's probabilities [0.5, 0.2] sum to 0.7, not 1; scale them so they add up to 1",
                errorWith("train_data: [{path: a, probability: 0.5}, {path: b, probability: 0.2}]\nmix_strategy: interleave_under\n"));
        assertEquals("my.yaml:3: train_data[1].weight must be a number >= 0, got '-1'",
                errorWith("train_data: [{path: a, weight: 3}, {path: b, weight: -1}]\nmix_strategy: interleave_under\n"));
        assertEquals("my.yaml:3: unknown key 'type' in train_data[0]; an entry has path and optionally probability or weight"
                + " (the format of each file is detected from its content)", errorWith("train_data: [{path: a, type: alpaca}]\n"));
        assertEquals("my.yaml:5: set either interleave_probs or train_data's probabilities/weights (at my.yaml:3), not both",
                errorWith("train_data: [{path: a, weight: 1}, {path: b, weight: 1}]\nmix_strategy: interleave_under\n"
                        + "interleave_probs: [0.5, 0.5]\n"));
    }

    @Test void trainDataReplacesTrainDataDir() {
        assertEquals("my.yaml:3: set either train_data_dir or train_data (at my.yaml:4), not both: add the folder to"
                + " train_data's list", errorWith("train_data_dir: d\ntrain_data: [a, b]\n"));
        assertEquals("my.yaml:3: train_data mixes text datasets; an image run reads train_data_dir or subsets",
                error(dir, "base_model: builtin:tiny-sd\ntrain_data: [a, b]\n").replace("my.yaml:2", "my.yaml:3"));
    }
}
