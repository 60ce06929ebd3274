package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.lorascripts.demo.TinyLlamaPretrainer;
import org.lorascripts.io.TensorIO;
import org.lorascripts.io.TensorSource;
import org.lorascripts.models.llm.TinyLlamaBuiltin;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * What the tests of a quantised LLM base (4-bit NF4, 8-bit float) share: the built-in model's folder with each decoder
 * linear weight replaced by its quantise-dequantise round trip, and training over the quantised base compared step by
 * step with training over that folder.
 */
final class QuantizedBaseCheck {
    private QuantizedBaseCheck() {}

    /** builtin:tiny-llama's folder, copied to {@code out} with every decoder linear weight replaced by {@code roundTrip(w)}. */
    static Path dequantisedBase(Path out, UnaryOperator<Tensor> roundTrip) throws IOException {
        Path src = TinyLlamaBuiltin.ensureCached();
        Files.createDirectories(out);
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) if (!f.getFileName().toString().equals("model.safetensors")) Files.copy(f, out.resolve(f.getFileName()));
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        int replaced = 0;
        try (Scope s = Scope.open(); TensorSource ts = TensorSource.open(src.resolve("model.safetensors"))) {
            for (String name : ts.names()) {
                Tensor t = TensorIO.read(ts, name);
                if (name.matches("model\\.layers\\.\\d+\\.(self_attn|mlp)\\.[a-z]+_proj\\.weight")) {
                    t = roundTrip.apply(t);
                    replaced++;
                }
                tensors.put(name, t);
            }
            TensorIO.save(out.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        assertEquals(7 * TinyLlamaPretrainer.LAYERS, replaced, "seven linear layers in each decoder layer");
        return out;
    }

    /**
     * Six f64 steps with {@code quantKey: true} (with and without gradient checkpointing) give the losses and LoRA weights
     * of the same steps over {@code dequantised}, within 1e-9.
     */
    static void trainsAsTheDequantisedModel(Path dir, Path dequantised, String quantKey) throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        double[] reference;
        double[] referenceWeights;
        LlmLoraFixture d = new LlmLoraFixture(dir.resolve("dense"), data).set("base_model", dequantised.toString()).set("max_steps", 6)
                .set("learning_rate", 3e-3).set("lora_dropout", 0.1).set("target_modules", List.of("all-linear"));
        try (LlmLoraTask task = d.task(DType.F64)) {
            d.run(task);
            reference = d.losses();
            referenceWeights = LlmLoraFixture.weights(task);
        }
        for (boolean gc : new boolean[] {false, true}) {
            LlmLoraFixture f = new LlmLoraFixture(dir.resolve("q" + gc), data).set(quantKey, true).set("gradient_checkpointing", gc)
                    .set("max_steps", 6).set("learning_rate", 3e-3).set("lora_dropout", 0.1).set("target_modules", List.of("all-linear"));
            try (LlmLoraTask task = f.task(DType.F64)) {
                assertTrue(task.model().loraHosts().get("model.layers.1.mlp.down_proj").quantized());
                f.run(task);
                assertArrayEquals(reference, f.losses(), 1e-9, "losses, gradient_checkpointing " + gc);
                assertArrayEquals(referenceWeights, LlmLoraFixture.weights(task), 1e-9, "trained LoRA weights, gradient_checkpointing " + gc);
            }
        }
    }
}
