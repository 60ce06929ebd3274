package org.lorascripts.text;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.lorascripts.io.JsonReader;
import org.lorascripts.io.JsonValue;

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
        JsonValue.Obj config = readObject(dir.resolve(CONFIG_FILE));
        JsonValue.Obj map = readObject(dir.resolve("special_tokens_map.json"));
        Path configFile = dir.resolve(CONFIG_FILE);
        List<Long> eosIds = new ArrayList<>();
        for (String name : List.of("config.json", "generation_config.json")) {
            Path f = dir.resolve(name);
            JsonValue ids = readObject(f).get("eos_token_id");
            for (long id : idList(ids, f)) if (!eosIds.contains(id)) eosIds.add(id);
        }
        return new TokenizerSettings(token(config, map, "bos_token", configFile), token(config, map, "eos_token", configFile),
                token(config, map, "pad_token", configFile), bool(config, "add_bos_token", configFile),
                bool(config, "add_eos_token", configFile), chatTemplate(config.get("chat_template"), configFile), eosIds);
    }

    private static JsonValue.Obj readObject(Path f) {
        if (!Files.isRegularFile(f)) return new JsonValue.Obj(java.util.Map.of());
        try {
            if (JsonReader.parse(f) instanceof JsonValue.Obj o) return o;
            throw new TokenizerException(f + ": expected a JSON object at the top level");
        } catch (IOException e) {
            throw new TokenizerException(e.getMessage().startsWith(f.toString()) ? e.getMessage() : "cannot read " + f + " (" + e.getMessage() + ")");
        }
    }

    /**
     * A special token is written either as its text or, by newer transformers, as an AddedToken
     * object {@code {"content": "<s>", "lstrip": false, ...}}; null means the model has none.
     */
    private static Optional<String> token(JsonValue.Obj config, JsonValue.Obj map, String key, Path configFile) {
        JsonValue v = config.get(key);
        if (v == null) v = map.get(key);
        return switch (v) {
            case null -> Optional.empty();
            case JsonValue.Null n -> Optional.empty();
            case JsonValue.Str s -> Optional.of(s.value());
            case JsonValue.Obj o when o.get("content") instanceof JsonValue.Str s -> Optional.of(s.value());
            default -> throw new TokenizerException(configFile + ": '" + key + "' must be a token text or {\"content\": ...}, found " + v.typeName());
        };
    }

    private static Optional<Boolean> bool(JsonValue.Obj config, String key, Path configFile) {
        return switch (config.get(key)) {
            case null -> Optional.empty();
            case JsonValue.Null n -> Optional.empty();
            case JsonValue.Bool b -> Optional.of(b.value());
            case JsonValue v -> throw new TokenizerException(configFile + ": '" + key + "' must be true or false, found " + v.typeName());
        };
    }

    /** A string, or a list of {"name", "template"} (several models ship named templates): take "default". */
    private static Optional<String> chatTemplate(JsonValue v, Path configFile) {
        if (v instanceof JsonValue.Str s) return Optional.of(s.value());
        if (v instanceof JsonValue.Arr a) {
            String first = null;
            for (JsonValue item : a.items()) {
                if (item instanceof JsonValue.Obj o && o.get("template") instanceof JsonValue.Str t) {
                    if (first == null) first = t.value();
                    if (o.get("name") instanceof JsonValue.Str n && n.value().equals("default")) return Optional.of(t.value());
                }
            }
            return Optional.ofNullable(first);
        }
        if (v == null || v instanceof JsonValue.Null) return Optional.empty();
        throw new TokenizerException(configFile + ": 'chat_template' must be a string, found " + v.typeName());
    }

    private static List<Long> idList(JsonValue v, Path f) {
        return switch (v) {
            case null -> List.of();
            case JsonValue.Null n -> List.of();
            case JsonValue.Int i -> List.of(i.value());
            case JsonValue.Arr a -> {
                List<Long> ids = new ArrayList<>();
                for (JsonValue item : a.items()) {
                    if (!(item instanceof JsonValue.Int i)) throw new TokenizerException(f + ": 'eos_token_id' must hold integers, found " + item.typeName());
                    ids.add(i.value());
                }
                yield ids;
            }
            default -> throw new TokenizerException(f + ": 'eos_token_id' must be an integer or a list, found " + v.typeName());
        };
    }
}
