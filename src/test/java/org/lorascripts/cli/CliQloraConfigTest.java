package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.cli.CliTrainCommandTest.Run;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.Nf4;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.MemoryEstimate;

/** load_in_4bit / quantization_bit: one-line errors where they do not apply, and the dry run's memory estimate. */
class CliQloraConfigTest {
    @TempDir Path dir;

    @Test void loadIn4bitOnAnImageTaskIsOneLineError() throws Exception {
        Path cfg = Files.writeString(dir.resolve("img.yaml"), "base_model: builtin:tiny-sd\ntrain_data_dir: d\nload_in_4bit: true\n");
        Run r = CliTrainCommandTest.run("train", "--config", cfg.toString(), "--dry-run");
        assertEquals(2, r.code());
        assertEquals("error: " + cfg + ":3: load_in_4bit (a quantised LLM base) is for text-generation only; for images use fp8_base: true\n", r.err());
        assertEquals("", r.out());
    }

    @Test void quantizationBitOtherThanFourOrEightIsOneLineError() throws Exception {
        Run r = CliTrainCommandTest.run("train", "--config", "examples/quickstart-text.yaml", "--dry-run", "--set", "quantization_bit=6");
        assertEquals(2, r.code());
        assertEquals("error: --set quantization_bit=6: quantization_bit: 6 is not supported; use 4 (4-bit NF4, load_in_4bit: true),"
                + " 8 (8-bit float, load_in_8bit: true) or 0 for none\n", r.err());
    }

    @Test void dryRunWithEightBitsIsValidAndCountsOneByteAWeight() {
        Run r = CliTrainCommandTest.run("train", "--config", "examples/quickstart-text.yaml", "--dry-run", "--set", "quantization_bit=8");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("quantization_bit"), r.out());
    }

    @Test void dryRunWithLoadIn4bitIsValid() {
        Run r = CliTrainCommandTest.run("train", "--config", "examples/quickstart-text.yaml", "--dry-run", "--set", "load_in_4bit=true");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("load_in_4bit"), r.out());
    }

    /** Decoder linear weights count as NF4 bytes, the rest (embeddings, norms) in the compute dtype. */
    @Test void memoryEstimateCountsFourBitWeights() throws Exception {
        Path model = Files.createDirectories(dir.resolve("m"));
        Files.writeString(model.resolve("config.json"), "{\"hidden_size\": 64, \"num_hidden_layers\": 1, \"vocab_size\": 1000}");
        try (Scope s = Scope.open()) {
            TensorIO.save(model.resolve("model.safetensors"), Map.of("model.embed_tokens.weight", Torch.zeros(1000, 64),
                    "model.layers.0.self_attn.q_proj.weight", Torch.zeros(64, 64), "model.layers.0.mlp.down_proj.weight", Torch.zeros(64, 128),
                    "model.layers.0.input_layernorm.weight", Torch.zeros(64)), Map.of());
        }
        Path data = Files.writeString(dir.resolve("d.txt"), "hello\n");
        Map<String, Object> settings = new java.util.HashMap<>(Map.of("base_model", model.toString(), "task_type", "text-generation",
                "train_data_dir", data.toString(), "max_seq_len", 128, "mixed_precision", "bf16"));
        MemoryEstimate plain = MemoryEstimate.of(TrainConfig.of(settings)).orElseThrow();
        settings.put("load_in_4bit", true);
        MemoryEstimate q = MemoryEstimate.of(TrainConfig.of(settings)).orElseThrow();
        double gib = 1L << 30;
        assertEquals((1000 * 64 + 64 * 64 + 64 * 128 + 64) * 2.0 / gib, plain.weightsGiB(), 1e-15);
        assertEquals(((1000 * 64 + 64) * 2.0 + Nf4.bytes(64 * 64) + Nf4.bytes(64 * 128)) / gib, q.weightsGiB(), 1e-15);
        assertEquals(64 * 64 / 2 + 64 + 4 + 4, Nf4.bytes(64 * 64), "codes, absmax codes, one nested scale, the offset");
        assertEquals(plain.activationsGiB(), q.activationsGiB());
        assertTrue(q.describe().contains("4-bit NF4"), q.describe());
        settings.remove("load_in_4bit");
        settings.put("load_in_8bit", true);
        MemoryEstimate e = MemoryEstimate.of(TrainConfig.of(settings)).orElseThrow();
        assertEquals(((1000 * 64 + 64) * 2.0 + 64 * 64 + 64 * 128) / gib, e.weightsGiB(), 1e-15);
        assertTrue(e.describe().contains("8-bit float"), e.describe());
    }
}
