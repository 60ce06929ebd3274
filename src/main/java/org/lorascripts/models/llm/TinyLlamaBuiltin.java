package org.lorascripts.models.llm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.lorascripts.io.BundledModels;
import org.lorascripts.io.JsonValue;


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
    public static int vocabSize(JsonValue.Obj tokenizer) {
        long max = -1;
        JsonValue.Obj vocab = (JsonValue.Obj) ((JsonValue.Obj) tokenizer.get("model")).get("vocab");
        for (JsonValue v : vocab.members().values()) max = Math.max(max, ((JsonValue.Int) v).value());
        for (JsonValue t : ((JsonValue.Arr) tokenizer.get("added_tokens")).items()) {
            max = Math.max(max, ((JsonValue.Int) ((JsonValue.Obj) t).get("id")).value());
        }
        return Math.toIntExact(max + 1);
    }

    public static long addedTokenId(JsonValue.Obj tokenizer, String content) {
        for (JsonValue t : ((JsonValue.Arr) tokenizer.get("added_tokens")).items()) {
            JsonValue.Obj o = (JsonValue.Obj) t;
            if (o.get("content") instanceof JsonValue.Str s && s.value().equals(content)) return ((JsonValue.Int) o.get("id")).value();
        }
        throw new IllegalStateException("the tiny tokenizer has no added token " + content);
    }
}
