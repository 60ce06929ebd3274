package org.lorascripts.models.llm;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.lorascripts.io.BundledModels;


/**
 * {@code builtin:tiny-llama}: a small LLaMA (1.1 M parameters: hidden 128, 4 layers, grouped-query attention, a
 * 1269-token byte-level BPE vocabulary) pretrained on generated English by
 * {@code org.lorascripts.demo.TinyLlamaPretrainer}, so that it writes readable sentences and a LoRA
 * visibly moves it to a new domain. It ships in the jar as an HF model folder ({@code demo-models/tiny-llama})
 * and is copied into the cache, sha256-checked, on first use.
 */
public final class TinyLlamaBuiltin {
    public static final String NAME = "tiny-llama";
    static final String FOLDER = "tiny-llama";
    private static final List<String> FILES = List.of("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json");

    private TinyLlamaBuiltin() {}

    /** The cached, verified folder (copied from the jar on first use). */
    public static Path ensureCached() throws IOException {
        return BundledModels.folder(FOLDER, FILES);
    }

    /** One past the largest id of the BPE vocabulary and the added tokens. */
    public static int vocabSize(JsonNode tokenizer) {
        long max = -1;
        for (JsonNode id : tokenizer.required("model").required("vocab")) max = Math.max(max, id.longValue());
        for (JsonNode t : tokenizer.required("added_tokens")) max = Math.max(max, t.required("id").longValue());
        return Math.toIntExact(max + 1);
    }

    public static long addedTokenId(JsonNode tokenizer, String content) {
        for (JsonNode t : tokenizer.required("added_tokens")) {
            if (content.equals(t.path("content").textValue())) return t.required("id").longValue();
        }
        throw new IllegalStateException("the tiny tokenizer has no added token " + content);
    }
}
