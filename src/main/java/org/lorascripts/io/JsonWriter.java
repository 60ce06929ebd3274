package org.lorascripts.io;

import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Writes {@link JsonValue}s with object keys in insertion order. The compact form matches
 * serde_json and Python's {@code json.dumps(v, separators=(",", ":"), ensure_ascii=False)}
 * byte for byte for strings and integers, which is what safetensors headers need: only
 * {@code "}, {@code \} and control characters are escaped; other text is written as raw UTF-8.
 *
 * @deprecated to be removed once the safetensors/metrics readers move to io.Json; new code uses
 *             {@link Json} and {@link JsonFields}. Kept only for the safetensors header/index and the trainer state,
 *             which other changes are editing now.
 */
@Deprecated
public final class JsonWriter {
    private JsonWriter() {}

    public static String write(JsonValue v) {
        StringBuilder sb = new StringBuilder();
        write(sb, v, -1, 0);
        return sb.toString();
    }

    public static byte[] writeUtf8(JsonValue v) {
        return write(v).getBytes(StandardCharsets.UTF_8);
    }

    /** Two-space indentation with ": " after keys, like Python's {@code json.dumps(v, indent=2)}. */
    public static String writePretty(JsonValue v) {
        StringBuilder sb = new StringBuilder();
        write(sb, v, 2, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, JsonValue v, int indent, int level) {
        switch (v) {
            case JsonValue.Obj o -> writeObject(sb, o.members(), indent, level);
            case JsonValue.Arr a -> writeArray(sb, a.items(), indent, level);
            case JsonValue.Str s -> writeString(sb, s.value());
            case JsonValue.Int i -> sb.append(i.value());
            case JsonValue.Dec d -> sb.append(d.value());
            case JsonValue.Bool b -> sb.append(b.value());
            case JsonValue.Null n -> sb.append("null");
        }
    }

    private static void writeObject(StringBuilder sb, Map<String, JsonValue> members, int indent, int level) {
        if (members.isEmpty()) {
            sb.append("{}");
            return;
        }
        sb.append('{');
        Iterator<Map.Entry<String, JsonValue>> it = members.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonValue> e = it.next();
            newline(sb, indent, level + 1);
            writeString(sb, e.getKey());
            sb.append(indent < 0 ? ":" : ": ");
            write(sb, e.getValue(), indent, level + 1);
            if (it.hasNext()) sb.append(',');
        }
        newline(sb, indent, level);
        sb.append('}');
    }

    private static void writeArray(StringBuilder sb, List<JsonValue> items, int indent, int level) {
        if (items.isEmpty()) {
            sb.append("[]");
            return;
        }
        sb.append('[');
        for (int i = 0; i < items.size(); i++) {
            newline(sb, indent, level + 1);
            write(sb, items.get(i), indent, level + 1);
            if (i + 1 < items.size()) sb.append(',');
        }
        newline(sb, indent, level);
        sb.append(']');
    }

    private static void newline(StringBuilder sb, int indent, int level) {
        if (indent < 0) return;
        sb.append('\n');
        sb.repeat(' ', indent * level);
    }

    static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
