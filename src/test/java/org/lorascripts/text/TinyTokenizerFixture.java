package org.lorascripts.text;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.JsonReader;
import org.lorascripts.io.JsonValue;
import org.lorascripts.io.JsonWriter;

/** The builtin tiny tokenizer written to a test folder, with optional tokenizer_config.json edits. */
public final class TinyTokenizerFixture {
    private TinyTokenizerFixture() {}

    /** Writes the tiny tokenizer; each override replaces a tokenizer_config.json key (JSON null removes it). */
    public static Path write(Path dir, Map<String, JsonValue> configOverrides) throws IOException {
        TinyTokenizerWriter.write(dir);
        if (!configOverrides.isEmpty()) {
            Path f = dir.resolve("tokenizer_config.json");
            Map<String, JsonValue> m = new LinkedHashMap<>(((JsonValue.Obj) JsonReader.parse(f)).members());
            for (var e : configOverrides.entrySet()) {
                if (e.getValue() instanceof JsonValue.Null) m.remove(e.getKey());
                else m.put(e.getKey(), e.getValue());
            }
            Files.writeString(f, JsonWriter.writePretty(new JsonValue.Obj(m)), StandardCharsets.UTF_8);
        }
        return dir;
    }

    public static HfTokenizer load(Path dir, Map<String, JsonValue> configOverrides) throws IOException {
        return HfTokenizer.load(write(dir, configOverrides));
    }

    /** The id tokenizer.json gives an added token, read without the tokenizers library. */
    public static long addedTokenId(Path dir, String content) throws IOException {
        JsonValue.Obj tok = (JsonValue.Obj) JsonReader.parse(dir.resolve("tokenizer.json"));
        for (JsonValue v : ((JsonValue.Arr) tok.get("added_tokens")).items()) {
            JsonValue.Obj o = (JsonValue.Obj) v;
            if (((JsonValue.Str) o.get("content")).value().equals(content)) return ((JsonValue.Int) o.get("id")).value();
        }
        throw new AssertionError(content + " is not an added token");
    }
}
