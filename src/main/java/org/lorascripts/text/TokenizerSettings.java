package org.lorascripts.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.lorascripts.io.Json;

/**
 * What a HF model folder says about special tokens, beyond {@code tokenizer.json}: token texts
 * from {@code tokenizer_config.json} (falling back to {@code special_tokens_map.json}), the
 * {@code add_bos_token}/{@code add_eos_token} switches, the Jinja {@code chat_template} (kept as
 * text: we only look for markers in it), and end-of-sequence ids from {@code config.json} and
 * {@code generation_config.json} (Llama 3 Instruct lists several: end of text and end of turn).
 *
 * @param addBosToken absent when the config does not say (Llama 3 and Qwen omit it)
 * @param eosIds      ids of {@code eos_token_id} in config.json then generation_config.json, in order, no repeats
 */
public record TokenizerSettings(Optional<String> bosToken, Optional<String> eosToken, Optional<String> padToken,
                                Optional<Boolean> addBosToken, Optional<Boolean> addEosToken,
                                Optional<String> chatTemplate, List<Long> eosIds) {

    static final String CONFIG_FILE = "tokenizer_config.json";

    public TokenizerSettings {
        eosIds = List.copyOf(eosIds);
    }

    /** Reads whichever of the four files exist in {@code dir}; none is required. */
    public static TokenizerSettings read(Path dir) {
        Path configFile = dir.resolve(CONFIG_FILE);
        ObjectNode config = readObject(configFile);
        ObjectNode map = readObject(dir.resolve("special_tokens_map.json"));
        List<Long> eosIds = new ArrayList<>();
        for (String name : List.of("config.json", "generation_config.json")) {
            Path f = dir.resolve(name);
            for (long id : idList(readObject(f).get("eos_token_id"), f)) if (!eosIds.contains(id)) eosIds.add(id);
        }
        return new TokenizerSettings(token(config, map, "bos_token", configFile), token(config, map, "eos_token", configFile),
                token(config, map, "pad_token", configFile), bool(config, "add_bos_token", configFile),
                bool(config, "add_eos_token", configFile), chatTemplateFile(dir).or(() -> chatTemplate(config.get("chat_template"), configFile)), eosIds);
    }

    private static ObjectNode readObject(Path f) {
        if (!Files.isRegularFile(f)) return Json.object();
        try {
            return Json.readObject(f);
        } catch (IOException e) {
            throw new TokenizerException(e.getMessage().startsWith(f.toString()) ? e.getMessage() : "cannot read " + f + " (" + e.getMessage() + ")");
        }
    }

    /**
     * A special token is written either as its text or, by newer transformers, as an AddedToken
     * object {@code {"content": "<s>", "lstrip": false, ...}}; null means the model has none.
     */
    private static Optional<String> token(ObjectNode config, ObjectNode map, String key, Path configFile) {
        JsonNode v = config.has(key) ? config.get(key) : map.get(key);
        if (v == null || v.isNull()) return Optional.empty();
        if (v.isTextual()) return Optional.of(v.textValue());
        if (v.isObject() && v.path("content").isTextual()) return Optional.of(v.get("content").textValue());
        throw new TokenizerException(configFile + ": '" + key + "' must be a token text or {\"content\": ...}, found " + Json.typeName(v));
    }

    private static Optional<Boolean> bool(ObjectNode config, String key, Path configFile) {
        JsonNode v = config.get(key);
        if (v == null || v.isNull()) return Optional.empty();
        if (v.isBoolean()) return Optional.of(v.booleanValue());
        throw new TokenizerException(configFile + ": '" + key + "' must be true or false, found " + Json.typeName(v));
    }

    /** Newer transformers save the template as chat_template.jinja beside tokenizer_config.json; it wins when present. */
    public static final String CHAT_TEMPLATE_FILE = "chat_template.jinja";

    /** Where the chat template of {@code dir} comes from, for error messages. */
    public static Path chatTemplateSource(Path dir) {
        Path jinja = dir.resolve(CHAT_TEMPLATE_FILE);
        return Files.isRegularFile(jinja) ? jinja : dir.resolve(CONFIG_FILE);
    }

    private static Optional<String> chatTemplateFile(Path dir) {
        Path f = dir.resolve(CHAT_TEMPLATE_FILE);
        if (!Files.isRegularFile(f)) return Optional.empty();
        try {
            if (Files.size(f) > 1 << 20) throw new TokenizerException(f + ": larger than 1 MiB; not a chat template");
            return Optional.of(Files.readString(f));
        } catch (IOException e) {
            throw new TokenizerException("cannot read " + f + " (" + e.getMessage() + ")");
        }
    }

    /** A string, or a list of {"name", "template"} (several models ship named templates): take "default". */
    private static Optional<String> chatTemplate(JsonNode v, Path configFile) {
        if (v == null || v.isNull()) return Optional.empty();
        if (v.isTextual()) return Optional.of(v.textValue());
        if (!v.isArray()) throw new TokenizerException(configFile + ": 'chat_template' must be a string, found " + Json.typeName(v));
        String first = null;
        for (JsonNode item : v) {
            if (!item.path("template").isTextual()) continue;
            String template = item.get("template").textValue();
            if (first == null) first = template;
            if ("default".equals(item.path("name").textValue())) return Optional.of(template);
        }
        return Optional.ofNullable(first);
    }

    private static List<Long> idList(JsonNode v, Path f) {
        if (v == null || v.isNull()) return List.of();
        if (v.isIntegralNumber() && v.canConvertToLong()) return List.of(v.longValue());
        if (!v.isArray()) throw new TokenizerException(f + ": 'eos_token_id' must be an integer or a list, found " + Json.typeName(v));
        List<Long> ids = new ArrayList<>();
        for (JsonNode item : v) {
            if (!item.isIntegralNumber() || !item.canConvertToLong()) {
                throw new TokenizerException(f + ": 'eos_token_id' must hold integers, found " + Json.typeName(item));
            }
            ids.add(item.longValue());
        }
        return ids;
    }
}
