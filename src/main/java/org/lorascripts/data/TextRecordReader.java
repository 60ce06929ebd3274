package org.lorascripts.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.lorascripts.config.ClosestName;
import org.lorascripts.config.DataFormat;
import org.lorascripts.io.Json;
import org.lorascripts.text.ChatMessage;

/**
 * Reads text training files into {@link TextRecord}s. A .txt file holds one example per line
 * (blank lines skipped). A .jsonl file holds one JSON object per line, a .json file a JSON array of
 * them (alpaca's and LLaMA-Factory's {@code data.json}); which kind of example is decided per file by
 * the keys of its first object ({@code messages}: chat; {@code conversations} with {@code from} /
 * {@code value}: ShareGPT chat; {@code instruction} + {@code output}: alpaca; {@code prompt} +
 * {@code completion}; {@code text}), and every later object must have that kind's keys (other keys,
 * such as an id, are ignored). A folder is read recursively in name order, hidden files and folders skipped.
 */
public final class TextRecordReader {
    /** The kinds of JSONL example, in detection order (chat data often carries a "text" copy too). */
    enum Schema {
        CHAT("messages"), SHAREGPT("conversations"), ALPACA("instruction", "output"), PROMPT_COMPLETION("prompt", "completion"), TEXT("text");

        final List<String> required;

        Schema(String... required) { this.required = List.of(required); }
    }

    private static final List<String> KNOWN_KEYS = List.of("text", "prompt", "completion", "instruction", "input", "output", "messages", "conversations");

    private TextRecordReader() {}

    /**
     * Every example under {@code source} (a file or a folder). {@code key} names the setting the
     * path came from (train_data_dir, val_data_dir) for messages about the path itself.
     */
    public static List<TextRecord> read(Path source, DataFormat format, String key) {
        if (!Files.exists(source)) {
            throw new DatasetException(key + " " + source + " does not exist; put the training data there or fix the path");
        }
        List<Path> files = Files.isDirectory(source) ? listFiles(source, format, key) : List.of(source);
        List<TextRecord> out = new ArrayList<>();
        for (Path f : files) {
            String ext = DatasetScan.extension(f);
            boolean json = format == DataFormat.JSONL || (format == DataFormat.AUTO && (ext.equals("jsonl") || ext.equals("json")));
            List<TextRecord> records = !json ? readLines(f) : DatasetScan.isJsonArrayFile(f) ? readJsonArray(f) : readJsonl(f);
            if (records.isEmpty()) throw new DatasetException(f + " is empty: no training examples");
            out.addAll(records);
        }
        return out;
    }

    private static List<TextRecord> readLines(Path f) {
        List<TextRecord> out = new ArrayList<>();
        String[] lines = lines(f);
        for (int i = 0; i < lines.length; i++) {
            if (!lines[i].isBlank()) out.add(new TextRecord.Plain(f + ":" + (i + 1), lines[i]));
        }
        return out;
    }

    private static List<TextRecord> readJsonl(Path f) {
        List<TextRecord> out = new ArrayList<>();
        String[] lines = lines(f);
        Schema schema = null;
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) continue;
            String at = f + ":" + (i + 1);
            ObjectNode obj = parseObject(lines[i], at);
            if (schema == null) schema = detect(obj, at);
            out.add(record(obj, schema, at));
        }
        return out;
    }

    /** A .json file: one array of example objects (alpaca's data.json, ShareGPT exports). */
    private static List<TextRecord> readJsonArray(Path f) {
        JsonNode v;
        try {
            v = Json.parse(DatasetScan.readText(f));
        } catch (Json.Malformed e) {
            throw new DatasetException(f + ": not valid JSON (" + e.getMessage() + ")");
        }
        if (!v.isArray()) throw new DatasetException(f + ": expected a JSON array of examples [{...}, ...], found " + Json.typeName(v));
        List<TextRecord> out = new ArrayList<>();
        Schema schema = null;
        for (int i = 0; i < v.size(); i++) {
            String at = f + "[" + i + "]";
            if (!(v.get(i) instanceof ObjectNode obj)) throw new DatasetException(at + ": expected a JSON object {...}, found " + Json.typeName(v.get(i)));
            if (schema == null) schema = detect(obj, at);
            out.add(record(obj, schema, at));
        }
        return out;
    }

    private static TextRecord record(ObjectNode obj, Schema schema, String at) {
        for (String k : schema.required) {
            if (obj.get(k) == null) throw new DatasetException(at + ": missing '" + k + "' (found keys: " + keys(obj) + ")");
        }
        return switch (schema) {
            case TEXT -> new TextRecord.Plain(at, string(obj, "text", at));
            case PROMPT_COMPLETION -> new TextRecord.PromptCompletion(at, string(obj, "prompt", at), string(obj, "completion", at));
            case ALPACA -> new TextRecord.Alpaca(at, string(obj, "instruction", at),
                    obj.get("input") == null || obj.get("input").isNull() ? "" : string(obj, "input", at),
                    string(obj, "output", at));
            case CHAT -> new TextRecord.Chat(at, messages(obj.get("messages"), at));
            case SHAREGPT -> new TextRecord.Chat(at, shareGpt(obj.get("conversations"), at));
        };
    }

    /** OpenAI's {@code messages}: {role, content} turns, the role as written. */
    private static List<ChatMessage> messages(JsonNode v, String at) {
        return turns(v, at, "messages", "role", "content", (role, where) -> role);
    }

    /** ShareGPT's {@code conversations}: {from, value} turns; from human / user, gpt / assistant, system. */
    private static List<ChatMessage> shareGpt(JsonNode v, String at) {
        return turns(v, at, "conversations", "from", "value", (from, where) -> switch (from.toLowerCase(java.util.Locale.ROOT)) {
            case "human", "user" -> ChatMessage.USER;
            case "gpt", "assistant", "chatgpt", "model" -> ChatMessage.ASSISTANT;
            case "system" -> ChatMessage.SYSTEM;
            default -> throw new DatasetException(where + ": 'from' is '" + from + "'; ShareGPT turns are from human, gpt or system");
        });
    }

    /** A list {@code listKey} of {roleKey: string, contentKey: string} objects, the role mapped by {@code role(value, where)}. */
    private static List<ChatMessage> turns(JsonNode v, String at, String listKey, String roleKey, String contentKey,
                                           java.util.function.BiFunction<String, String, String> role) {
        if (!v.isArray()) {
            throw new DatasetException(at + ": '" + listKey + "' must be a list of {" + roleKey + ", " + contentKey + "}, found " + Json.typeName(v));
        }
        if (v.isEmpty()) throw new DatasetException(at + ": '" + listKey + "' is empty");
        List<ChatMessage> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            String where = at + ": " + listKey + "[" + i + "]";
            if (!(v.get(i) instanceof ObjectNode m)) {
                throw new DatasetException(where + " must be an object {\"" + roleKey + "\": ..., \"" + contentKey + "\": ...}, found " + Json.typeName(v.get(i)));
            }
            for (String k : List.of(roleKey, contentKey)) {
                if (m.get(k) == null || !m.get(k).isTextual()) {
                    throw new DatasetException(where + (m.get(k) == null ? " missing '" + k + "' (found keys: " + keys(m) + ")"
                            : " '" + k + "' must be a string, found " + Json.typeName(m.get(k))));
                }
            }
            out.add(new ChatMessage(role.apply(m.get(roleKey).textValue(), where), m.get(contentKey).textValue()));
        }
        return out;
    }

    private static ObjectNode parseObject(String line, String at) {
        JsonNode v;
        try {
            v = Json.parse(line);
        } catch (Json.Malformed e) {
            throw new DatasetException(at + ": not valid JSON (" + e.getMessage() + ")");
        }
        if (v instanceof ObjectNode o) return o;
        throw new DatasetException(at + ": expected a JSON object {...} per line, found " + Json.typeName(v)
                + (v.isArray() ? " (a JSON array of examples goes in a .json file)" : ""));
    }

    private static Schema detect(ObjectNode first, String at) {
        for (Schema s : Schema.values()) {
            if (s.required.stream().allMatch(first::has)) return s;
        }
        String hint = "";
        for (String k : keyList(first)) {
            if (KNOWN_KEYS.contains(k)) continue;
            Optional<String> close = ClosestName.closest(k, KNOWN_KEYS);
            if (close.isPresent()) { hint = "; '" + k + "': did you mean '" + close.get() + "'?"; break; }
        }
        throw new DatasetException(at + ": cannot tell the example format from keys (" + keys(first) + "): expected 'text',"
                + " 'prompt' and 'completion', 'instruction' and 'output' (alpaca), 'messages' (chat) or 'conversations' (ShareGPT)" + hint);
    }

    private static String string(ObjectNode obj, String key, String at) {
        if (obj.get(key).isTextual()) return obj.get(key).textValue();
        throw new DatasetException(at + ": '" + key + "' must be a string, found " + Json.typeName(obj.get(key)));
    }

    private static List<String> keyList(ObjectNode o) {
        List<String> keys = new ArrayList<>();
        o.fieldNames().forEachRemaining(keys::add);
        return keys;
    }

    private static String keys(ObjectNode o) {
        return o.isEmpty() ? "none" : String.join(", ", keyList(o));
    }

    private static List<Path> listFiles(Path dir, DataFormat format, String key) {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> !hidden(dir.relativize(p)))
                    .filter(p -> accepts(format, DatasetScan.extension(p))).sorted().toList();
        } catch (IOException | UncheckedIOException e) {
            throw new DatasetException("cannot list " + dir + " (" + e.getMessage() + ")");
        }
        if (files.isEmpty()) {
            String kinds = switch (format) { case TEXT -> ".txt"; case JSONL -> ".jsonl"; case AUTO -> ".txt, .jsonl or .json"; };
            throw new DatasetException(key + " " + dir + " has no " + kinds + " files");
        }
        return files;
    }

    private static boolean accepts(DataFormat format, String ext) {
        return switch (format) {
            case TEXT -> ext.equals("txt");
            case JSONL -> ext.equals("jsonl");
            case AUTO -> ext.equals("txt") || ext.equals("jsonl") || ext.equals("json");
        };
    }

    private static boolean hidden(Path relative) {
        for (Path part : relative) if (part.toString().startsWith(".")) return true;
        return false;
    }

    /** Lines without their terminators ({@code \n} or {@code \r\n}). */
    private static String[] lines(Path f) {
        return DatasetScan.readText(f).split("\r?\n", -1);
    }

}
