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
        Map<String, Object> settings = new java.util.HashMap<>(Map.of("base_model", model.toString(), "task_type", "text-generation",
                "train_data_dir", data.toString(), "max_seq_len", 128, "mixed_precision", "bf16"));
        MemoryEstimate m = MemoryEstimate.of(TrainConfig.of(settings)).orElseThrow();
        long params = 1000 * 64 + 64 * 64;
        double gib = 1L << 30, tokens = 128;
        assertEquals(params * 2.0 / gib, m.weightsGiB(), 1e-12);
        // per layer and token 5h + 2kv + 2I values (no intermediate_size or K/V heads given: I = 4h, kv = h), one layer's
        // backward temporaries (3I), the head's chunk of fp32 logits 1.5 times
        double perLayer = tokens * 2 * (5 * 64 + 2 * 64 + 2 * 256), temporaries = tokens * 2 * 3 * 256, head = 1.5 * tokens * 1000 * 4;
        assertEquals((2 * perLayer + temporaries + head) / gib, m.activationsGiB(), 1e-12);
        // rank 8 on q, k, v and o of both layers: r x (in + out) each, fp32 weight, gradient and two moments
        assertEquals(8.0 * 4 * 128 * 2 * 16 / gib, m.adapterGiB(), 1e-15);
        assertTrue(m.describe().startsWith("~"), m.describe());
        TrainConfig plain = TrainConfig.of(settings);
        assertTrue(m.deviceWarning(plain, "GPU 0", 1e-6).orElseThrow().endsWith("to need less: gradient_checkpointing: true,"
                + " load_in_4bit: true, recompute_attention: true, a lower max_seq_len"), m.deviceWarning(plain, "GPU 0", 1e-6).orElseThrow());
        // the attention recomputed in backward: q, k, v and the attention output are no longer kept (5h + 2kv -> 3h)
        settings.put("recompute_attention", true);
        TrainConfig again = TrainConfig.of(settings);
        m = MemoryEstimate.of(again).orElseThrow();
        double perLayerAgain = tokens * 2 * (3 * 64 + 2 * 256);
        assertEquals((2 * perLayerAgain + temporaries + head) / gib, m.activationsGiB(), 1e-12);
        assertTrue(m.describe().contains("attention recomputed"), m.describe());
        assertTrue(m.deviceWarning(again, "GPU 0", 1e-6).orElseThrow().endsWith("load_in_4bit: true, a lower max_seq_len"), "set already");
        // gradient checkpointing (which overrides recompute_attention) keeps one hidden state per layer and recomputes one layer; K/V heads and the MLP width count
        Files.writeString(model.resolve("config.json"), "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": 1000,"
                + " \"intermediate_size\": 100, \"num_attention_heads\": 8, \"num_key_value_heads\": 2}");
        settings.put("gradient_checkpointing", true);
        settings.put("target_modules", "all-linear");
        m = MemoryEstimate.of(TrainConfig.of(settings)).orElseThrow();
        double layer = tokens * 2 * (5 * 64 + 2 * 16 + 2 * 100);
        assertEquals((tokens * 2 * 64 * 2 + layer + tokens * 2 * 3 * 100 + head) / gib, m.activationsGiB(), 1e-12);
        assertEquals(8.0 * (128 + 80 + 80 + 128 + 164 + 164 + 164) * 2 * 16 / gib, m.adapterGiB(), 1e-15);
    }

    /** Images: the UNet's weights, the text encoders' only while they are needed, the fp32 VAE while samples or uncached latents need it. */
    @Test
    void imageWeightsAreThoseOnTheDeviceWhileTraining(@TempDir Path dir) throws Exception {
        Path ckpt = dir.resolve("model.safetensors");
        try (Scope s = Scope.open()) {
            TensorIO.save(ckpt, Map.of(
                    "model.diffusion_model.input_blocks.1.1.proj_in.weight", Torch.zeros(32, 32),
                    "cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight", Torch.zeros(64, 32),
                    "first_stage_model.decoder.conv_in.weight", Torch.zeros(8, 4, 3, 3)), Map.of());
        }
        Path data = Files.createDirectories(dir.resolve("img"));
        Map<String, Object> settings = new java.util.HashMap<>(Map.of("base_model", ckpt.toString(), "train_data_dir", data.toString(),
                "mixed_precision", "fp16", "resolution", 512, "batch_size", 2));
        double gib = 1L << 30;
        MemoryEstimate m = MemoryEstimate.of(TrainConfig.of(settings)).orElseThrow();
        assertEquals(32 * 32 * 2.0 / gib, m.weightsGiB(), 1e-15, "cached captions and latents: the UNet alone");
        assertEquals(2 * 0.77, m.activationsGiB(), 1e-12, "two SD images of 512x512");
        assertTrue(m.describe().contains("SD1.5") && m.describe().contains("text encoders freed"), m.describe());
        settings.put("train_text_encoder", true);
        settings.put("sample_prompts", java.util.List.of("a cat"));
        settings.put("gradient_checkpointing", true);
        m = MemoryEstimate.of(TrainConfig.of(settings)).orElseThrow();
        assertEquals((32 * 32 * 2.0 + 64 * 32 * 2.0 + 8 * 4 * 9 * 4.0) / gib, m.weightsGiB(), 1e-15, "a trained encoder and the fp32 VAE for samples");
        assertEquals(2 * 0.19, m.activationsGiB(), 1e-12);
        // SDXL (a second text encoder): its activations per image
        Path xl = dir.resolve("xl.safetensors");
        try (Scope s = Scope.open()) {
            TensorIO.save(xl, Map.of("model.diffusion_model.input_blocks.1.1.proj_in.weight", Torch.zeros(32, 32),
                    "conditioner.embedders.1.model.token_embedding.weight", Torch.zeros(10, 8)), Map.of());
        }
        m = MemoryEstimate.of(TrainConfig.of(Map.of("base_model", xl.toString(), "train_data_dir", data.toString(),
                "mixed_precision", "bf16", "resolution", 1024, "batch_size", 1))).orElseThrow();
        assertEquals(4 * 1.40, m.activationsGiB(), 1e-12, "1024x1024 is four 512x512");
        assertTrue(m.describe().contains("SDXL"), m.describe());
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
            // a trained text encoder stays on the device, so both parts count
            TrainConfig c = TrainConfig.of(Map.of("base_model", ckpt.toString(), "train_data_dir", data.toString(),
                    "mixed_precision", "fp16", "fp8_base", k == 1, "train_text_encoder", true));
            MemoryEstimate m = MemoryEstimate.of(c).orElseThrow();
            weights[k] = m.weightsGiB() * (1L << 30);
            assertEquals(k == 1, m.describe().contains("fp8"), m.describe());
        }
        long all = 32 * 4 * 9 + 32 * 32 + 32 * 32 * 9 + 32 + 64 * 32 + 16 + 64 * 32 + 100 * 32, fp8 = 32 * 32 + 32 * 32 * 9 + 64 * 32;
        assertEquals(all * 2.0, weights[0], 1e-6);
        assertEquals((all - fp8) * 2.0 + fp8, weights[1], 1e-6);
    }

    /** Above the device's memory the run warns before it loads anything, naming the config's own levers. */
    @Test
    void anEstimateAboveTheDeviceWarnsWithTheLeversLeft(@TempDir Path dir) throws Exception {
        Path ckpt = dir.resolve("model.safetensors");
        try (Scope s = Scope.open()) {
            TensorIO.save(ckpt, Map.of("model.diffusion_model.input_blocks.1.1.proj_in.weight", Torch.zeros(32, 32)), Map.of());
        }
        Path data = Files.createDirectories(dir.resolve("img"));
        Map<String, Object> settings = new java.util.HashMap<>(Map.of("base_model", ckpt.toString(), "train_data_dir", data.toString(),
                "mixed_precision", "fp16", "resolution", 1024, "batch_size", 4));
        TrainConfig c = TrainConfig.of(settings);
        MemoryEstimate m = MemoryEstimate.of(c).orElseThrow();   // 4 images of 1024x1024: 16 x 0.77 GiB of activations
        assertTrue(m.deviceWarning(c, "GPU 0 (big)", 80).isEmpty());
        String w = m.deviceWarning(c, "GPU 0 (test card)", 8).orElseThrow();
        assertTrue(w.startsWith(String.format(java.util.Locale.ROOT, "the memory estimate (~%.1f GiB) is above GPU 0 (test card) with 8.0 GiB", m.totalGiB())), w);
        assertTrue(w.endsWith("to need less: gradient_checkpointing: true, fp8_base: true, a smaller batch_size with gradient_accumulation_steps"
                + " for the same effective batch, a lower resolution"), w);
        settings.put("gradient_checkpointing", true);
        settings.put("fp8_base", true);
        settings.put("batch_size", 1);
        c = TrainConfig.of(settings);
        String left = MemoryEstimate.of(c).orElseThrow().deviceWarning(c, "GPU 0", 0.1).orElseThrow();
        assertTrue(left.endsWith("to need less: a lower resolution"), "only what is not set yet: " + left);
    }
}
