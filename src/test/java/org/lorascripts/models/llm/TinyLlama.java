package org.lorascripts.models.llm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.Json;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Tensor;

/**
 * The built-in tiny Llama (hidden 64, 2 layers, 4 heads, 2 KV heads, intermediate 128, rope_theta
 * 10000) with deterministic random weights: the same bytes on every machine, for smoke tests and
 * demos without a download. Only the model is written (config.json, model.safetensors in fp32); the
 * tokenizer files come from the tokenizer writer, which must use the same vocabulary size.
 */
public final class TinyLlama {
    public static final long SEED = 20240601L;
    public static final long HIDDEN = 64, INTERMEDIATE = 128;
    public static final int LAYERS = 2, HEADS = 4, KV_HEADS = 2;

    private TinyLlama() {}

    public static LlmConfig config(int vocabSize) {
        return LlmConfig.llama(vocabSize, HIDDEN, INTERMEDIATE, LAYERS, HEADS, KV_HEADS, 10000.0);
    }

    /** Writes config.json and model.safetensors into {@code dir} (created if needed). */
    public static void writeModel(Path dir, int vocabSize) throws IOException {
        if (vocabSize < 3) throw new IllegalArgumentException("vocab size must cover at least bos (1) and eos (2), got " + vocabSize);
        LlmConfig cfg = config(vocabSize);
        Files.createDirectories(dir);
        try (LlamaForCausalLM m = new LlamaForCausalLM(cfg, new RandomWeights(SEED), Device.CPU, DType.F32)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>(m.weights().loadedTensors());
            TensorIO.save(dir.resolve("model.safetensors"), tensors, Map.of("format", "pt"));
        }
        Json.writePrettyFile(dir.resolve("config.json"), cfg.toJson());
    }
}
