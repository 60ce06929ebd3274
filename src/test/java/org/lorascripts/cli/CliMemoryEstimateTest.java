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

    /** fp8_base counts the UNet blocks' and the text encoder's linear and convolution weights one byte each (LDM names), the rest as before. */
    @Test
    void fp8BaseCountsTheUnetBlocksWeightsAtOneByte(@TempDir Path dir) throws Exception {
        Path ckpt = dir.resolve("model.safetensors");
        try (Scope s = Scope.open()) {
            TensorIO.save(ckpt, Map.of(
                    "model.diffusion_model.input_blocks.0.0.weight", Torch.zeros(32, 4, 3, 3),            // conv_in: stays
                    "model.diffusion_model.input_blocks.1.1.proj_in.weight", Torch.zeros(32, 32),         // block linear
                    "model.diffusion_model.middle_block.0.in_layers.2.weight", Torch.zeros(32, 32, 3, 3), // block conv
                    "model.diffusion_model.output_blocks.2.1.norm.weight", Torch.zeros(32),               // a norm: stays
                    "model.diffusion_model.time_embed.0.weight", Torch.zeros(64, 32),                     // embedding: stays
                    "cond_stage_model.transformer.text_model.final_layer_norm.weight", Torch.zeros(16),                  // a norm: stays
                    "cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight", Torch.zeros(64, 32),     // text encoder linear
                    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", Torch.zeros(100, 32)), // embedding: stays
                    Map.of());
        }
        Path data = Files.createDirectories(dir.resolve("img"));
        double[] weights = new double[2];
        for (int k = 0; k < 2; k++) {
            TrainConfig c = TrainConfig.of(Map.of("base_model", ckpt.toString(), "train_data_dir", data.toString(),
                    "mixed_precision", "fp16", "fp8_base", k == 1));
            MemoryEstimate m = MemoryEstimate.of(c).orElseThrow();
            weights[k] = m.weightsGiB() * (1L << 30);
            assertEquals(k == 1, m.describe().contains("fp8"), m.describe());
        }
        long all = 32 * 4 * 9 + 32 * 32 + 32 * 32 * 9 + 32 + 64 * 32 + 16 + 64 * 32 + 100 * 32, fp8 = 32 * 32 + 32 * 32 * 9 + 64 * 32;
        assertEquals(all * 2.0, weights[0], 1e-6);
        assertEquals((all - fp8) * 2.0 + fp8, weights[1], 1e-6);
    }
}
