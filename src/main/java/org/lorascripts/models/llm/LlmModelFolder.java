package org.lorascripts.models.llm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.lorascripts.config.BaseModel;
import org.lorascripts.hub.HubCache;

/**
 * Where a text base model's HF folder is (config.json, safetensors weights, tokenizer.json), and
 * the name adapters record as {@code base_model_name_or_path}: the folder's path, or
 * {@code builtin:tiny-llama}. Problems are one-line {@link IllegalArgumentException}s naming the value.
 */
public record LlmModelFolder(Path dir, String name) {

    /** {@code builtin:tiny-llama} or a folder path, as given on the command line. */
    public static LlmModelFolder resolve(String value) throws IOException {
        if (value.startsWith(BaseModel.BUILTIN_PREFIX)) return resolve(new BaseModel.Builtin(value.substring(BaseModel.BUILTIN_PREFIX.length())));
        return resolve(new BaseModel.Local(Path.of(value).toAbsolutePath().normalize()));
    }

    public static LlmModelFolder resolve(BaseModel base) throws IOException {
        return switch (base) {
            case BaseModel.Builtin b when b.name().equals(TinyLlamaBuiltin.NAME) -> new LlmModelFolder(TinyLlamaBuiltin.ensureCached(), b.toString());
            case BaseModel.Builtin b -> throw new IllegalArgumentException(b + " is an image model; text-generation needs an HF causal LM folder"
                    + " or " + BaseModel.BUILTIN_PREFIX + TinyLlamaBuiltin.NAME);
            case BaseModel.Local l -> {
                Path p = l.path();
                if (!Files.exists(p)) throw new IllegalArgumentException("base model " + p + " does not exist; download the model there or fix the path");
                if (!Files.isDirectory(p) || !Files.isRegularFile(p.resolve("config.json"))) {
                    throw new IllegalArgumentException("base model " + p + " is not an HF model folder (config.json, model.safetensors,"
                            + " tokenizer.json); text-generation loads models saved with save_pretrained");
                }
                // a model from the Hub cache is named by its Hub id, as PEFT records it (so from_pretrained finds it again)
                yield new LlmModelFolder(p, HubCache.repoIdOf(p).orElse(p.toString()));
            }
        };
    }

    public boolean isBuiltin() { return name.startsWith(BaseModel.BUILTIN_PREFIX); }
}
