package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.MemoryEstimate;

/** The dry run's memory estimate reads the parameter count from headers and follows the fitted formula. */
class CliMemoryEstimateTest {
    @Test
    void llmEstimateFromConfigAndHeaders(@TempDir Path dir) throws Exception {
        Path model = Files.createDirectories(dir.resolve("m"));
        Files.writeString(model.resolve("config.json"), "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 1000}");
        try (Scope s = Scope.open()) {
            TensorIO.save(model.resolve("model.safetensors"), Map.of("a", Torch.zeros(1000, 64), "b", Torch.zeros(64, 64)), Map.of());
        }
        Path data = Files.writeString(dir.resolve("d.txt"), "hello\n");
        TrainConfig c = TrainConfig.of(Map.of("base_model", model.toString(), "task_type", "text-generation",
                "train_data_dir", data.toString(), "max_seq_len", 128, "mixed_precision", "bf16"));
        MemoryEstimate m = MemoryEstimate.of(c).orElseThrow();
        long params = 1000 * 64 + 64 * 64;
        assertEquals(params * 2.0 / (1L << 30), m.weightsGiB(), 1e-12);
        double tokens = 128, gib = 1L << 30;
        assertEquals(tokens * 64 * 2 * 50 / gib + tokens * 1000 * 8 / gib, m.activationsGiB(), 1e-12);
        assertTrue(m.describe().startsWith("~"), m.describe());
    }
}
