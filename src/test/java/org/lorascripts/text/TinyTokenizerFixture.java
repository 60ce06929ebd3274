package org.lorascripts.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.lorascripts.io.Json;

/** The builtin tiny tokenizer written to a test folder, with optional tokenizer_config.json edits. */
public final class TinyTokenizerFixture {
    private TinyTokenizerFixture() {}

    /**
     * Writes the tiny tokenizer; each override replaces a tokenizer_config.json key (a JSON value or a
     * Java value as {@link Json#node} converts it; {@code NullNode.instance} removes the key).
     */
    public static Path write(Path dir, Map<String, ?> configOverrides) throws IOException {
        TinyTokenizerWriter.write(dir);
        if (!configOverrides.isEmpty()) {
            Path f = dir.resolve("tokenizer_config.json");
            ObjectNode m = Json.readObject(f);
            for (var e : configOverrides.entrySet()) {
                JsonNode v = Json.node(e.getValue());
                if (v.isNull()) m.remove(e.getKey());
                else m.set(e.getKey(), v);
            }
            Files.writeString(f, Json.writePretty(m), StandardCharsets.UTF_8);
        }
        return dir;
    }

    public static HfTokenizer load(Path dir, Map<String, ?> configOverrides) throws IOException {
        return HfTokenizer.load(write(dir, configOverrides));
    }

    /** The id tokenizer.json gives an added token, read without the tokenizers library. */
    public static long addedTokenId(Path dir, String content) throws IOException {
        for (JsonNode t : Json.read(dir.resolve("tokenizer.json")).required("added_tokens")) {
            if (content.equals(t.path("content").textValue())) return t.required("id").longValue();
        }
        throw new AssertionError(content + " is not an added token");
    }
}
