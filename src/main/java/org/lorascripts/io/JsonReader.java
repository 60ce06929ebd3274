package org.lorascripts.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict RFC 8259 JSON parser working on UTF-8 bytes, so that errors can name the exact byte
 * offset (what a user sees in a hex dump of a safetensors header). Strict means: no comments, no
 * trailing commas, no NaN/Infinity, no raw control characters or unpaired surrogates in strings,
 * invalid UTF-8 rejected, and duplicate object keys rejected (a header or config with two values
 * for one key has no single meaning).
 *
 * @deprecated to be removed once the safetensors/metrics readers move to io.Json; new code uses
 *             {@link Json} and {@link JsonFields}. Kept only for the safetensors header/index readers, the
 *             trainer state and the memory estimate, which other changes are editing now.
 */
@Deprecated
public final class JsonReader {
    /** Deep enough for any real config; shallow enough that a hostile file cannot overflow the stack. */
    static final int MAX_DEPTH = 512;

    private final byte[] in;
    private int pos;
    private int depth;

    private JsonReader(byte[] in) {
        this.in = in;
    }

    public static JsonValue parse(byte[] utf8) throws JsonParseException {
        JsonReader r = new JsonReader(utf8);
        JsonValue v = r.value();
        r.skipWhitespace();
        if (r.pos < utf8.length) throw r.error("unexpected " + r.describe(r.pos) + " after the JSON value");
        return v;
    }

    /** Offsets in errors are UTF-8 byte offsets of {@code text}. */
    public static JsonValue parse(String text) throws JsonParseException {
        return parse(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Parses a JSON file; errors are prefixed with the path. */
    public static JsonValue parse(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            return parse(bytes);
        } catch (JsonParseException e) {
            throw new JsonParseException(file + ": not valid JSON: " + e.getMessage(), e.offset());
        }
    }

    private JsonValue value() throws JsonParseException {
        skipWhitespace();
        if (pos >= in.length) throw error("unexpected end of input, expected a value");
        int b = in[pos];
        return switch (b) {
            case '{' -> object();
            case '[' -> array();
            case '"' -> new JsonValue.Str(string());
            case 't' -> literal("true", new JsonValue.Bool(true));
            case 'f' -> literal("false", new JsonValue.Bool(false));
            case 'n' -> literal("null", JsonValue.Null.INSTANCE);
            default -> {
                if (b == '-' || (b >= '0' && b <= '9')) yield number();
                throw error("unexpected " + describe(pos) + ", expected a value");
            }
        };
    }

    private JsonValue object() throws JsonParseException {
        enter();
        pos++; // '{'
        Map<String, JsonValue> members = new LinkedHashMap<>();
        skipWhitespace();
        if (peek() == '}') {
            pos++;
            depth--;
            return new JsonValue.Obj(members);
        }
        while (true) {
            skipWhitespace();
            if (peek() != '"') throw error("expected a string key, found " + describe(pos));
            int keyAt = pos;
            String key = string();
            skipWhitespace();
            if (peek() != ':') throw error("expected ':' after key '" + key + "', found " + describe(pos));
            pos++;
            JsonValue v = value();
            if (members.putIfAbsent(key, v) != null) {
                throw new JsonParseException("duplicate key '" + key + "' at byte " + keyAt, keyAt);
            }
            skipWhitespace();
            int c = peek();
            pos++;
            if (c == '}') break;
            if (c != ',') { pos--; throw error("expected ',' or '}' in object, found " + describe(pos)); }
        }
        depth--;
        return new JsonValue.Obj(members);
    }

    private JsonValue array() throws JsonParseException {
        enter();
        pos++; // '['
        List<JsonValue> items = new ArrayList<>();
        skipWhitespace();
        if (peek() == ']') {
            pos++;
            depth--;
            return new JsonValue.Arr(items);
        }
        while (true) {
            items.add(value());
            skipWhitespace();
            int c = peek();
            pos++;
            if (c == ']') break;
            if (c != ',') { pos--; throw error("expected ',' or ']' in array, found " + describe(pos)); }
        }
        depth--;
        return new JsonValue.Arr(items);
    }

    private void enter() throws JsonParseException {
        if (++depth > MAX_DEPTH) throw error("nesting deeper than " + MAX_DEPTH + " levels");
    }

    private JsonValue literal(String word, JsonValue v) throws JsonParseException {
        for (int i = 0; i < word.length(); i++) {
            if (pos + i >= in.length || in[pos + i] != word.charAt(i)) {
                throw error("unexpected " + describe(pos) + ", expected a value");
            }
        }
        pos += word.length();
        return v;
    }

    private JsonValue number() throws JsonParseException {
        int start = pos;
        boolean integral = true;
        if (peek() == '-') pos++;
        if (peek() == '0') {
            pos++;
        } else if (isDigit(peek())) {
            while (isDigit(peek())) pos++;
        } else {
            throw error("expected a digit, found " + describe(pos));
        }
        if (peek() == '.') {
            integral = false;
            pos++;
            if (!isDigit(peek())) throw error("expected a digit after '.', found " + describe(pos));
            while (isDigit(peek())) pos++;
        }
        if (peek() == 'e' || peek() == 'E') {
            integral = false;
            pos++;
            if (peek() == '+' || peek() == '-') pos++;
            if (!isDigit(peek())) throw error("expected a digit in the exponent, found " + describe(pos));
            while (isDigit(peek())) pos++;
        }
        String text = new String(in, start, pos - start, StandardCharsets.US_ASCII);
        if (integral) {
            try {
                return new JsonValue.Int(Long.parseLong(text));
            } catch (NumberFormatException tooBig) {
                // Falls through: an integer beyond 64 bits is still a valid JSON number.
            }
        }
        double d = Double.parseDouble(text);
        if (!Double.isFinite(d)) throw new JsonParseException("number " + text + " out of range at byte " + start, start);
        return new JsonValue.Dec(d);
    }

    private String string() throws JsonParseException {
        pos++; // opening quote
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= in.length) throw error("unterminated string");
            int b = in[pos] & 0xFF;
            if (b == '"') {
                pos++;
                return sb.toString();
            } else if (b == '\\') {
                escape(sb);
            } else if (b < 0x20) {
                throw error("raw control character " + hexByte(b) + " in string (write it as an escape)");
            } else if (b < 0x80) {
                sb.append((char) b);
                pos++;
            } else {
                sb.appendCodePoint(utf8CodePoint());
            }
        }
    }

    private void escape(StringBuilder sb) throws JsonParseException {
        int at = pos;
        pos++; // backslash
        if (pos >= in.length) throw error("unterminated string");
        int c = in[pos++];
        switch (c) {
            case '"' -> sb.append('"');
            case '\\' -> sb.append('\\');
            case '/' -> sb.append('/');
            case 'b' -> sb.append('\b');
            case 'f' -> sb.append('\f');
            case 'n' -> sb.append('\n');
            case 'r' -> sb.append('\r');
            case 't' -> sb.append('\t');
            case 'u' -> {
                char unit = hex4();
                if (Character.isHighSurrogate(unit)) {
                    if (pos + 1 < in.length && in[pos] == '\\' && in[pos + 1] == 'u') {
                        pos += 2;
                        char low = hex4();
                        if (!Character.isLowSurrogate(low)) {
                            throw new JsonParseException(String.format("unpaired surrogate \\u%04X at byte %d", (int) unit, at), at);
                        }
                        sb.append(unit).append(low);
                    } else {
                        throw new JsonParseException(String.format("unpaired surrogate \\u%04X at byte %d", (int) unit, at), at);
                    }
                } else if (Character.isLowSurrogate(unit)) {
                    throw new JsonParseException(String.format("unpaired surrogate \\u%04X at byte %d", (int) unit, at), at);
                } else {
                    sb.append(unit);
                }
            }
            default -> throw new JsonParseException("invalid escape " + printable(c & 0xFF) + " after a backslash at byte " + at, at);
        }
    }

    private char hex4() throws JsonParseException {
        int v = 0;
        for (int i = 0; i < 4; i++) {
            int d = pos < in.length ? Character.digit(in[pos], 16) : -1;
            if (d < 0) throw error("expected 4 hex digits after \\u, found " + describe(pos));
            v = v * 16 + d;
            pos++;
        }
        return (char) v;
    }

    /** Decodes one multi-byte UTF-8 sequence, rejecting overlong forms, surrogates and values past U+10FFFF. */
    private int utf8CodePoint() throws JsonParseException {
        int at = pos;
        int b0 = in[pos] & 0xFF;
        int len, min, cp;
        if (b0 >= 0xC2 && b0 <= 0xDF) { len = 2; cp = b0 & 0x1F; min = 0x80; }
        else if (b0 >= 0xE0 && b0 <= 0xEF) { len = 3; cp = b0 & 0x0F; min = 0x800; }
        else if (b0 >= 0xF0 && b0 <= 0xF4) { len = 4; cp = b0 & 0x07; min = 0x10000; }
        else throw new JsonParseException("invalid UTF-8 byte " + hexByte(b0) + " at byte " + at, at);
        if (at + len > in.length) throw new JsonParseException("truncated UTF-8 sequence at byte " + at, at);
        for (int i = 1; i < len; i++) {
            int b = in[at + i] & 0xFF;
            if ((b & 0xC0) != 0x80) throw new JsonParseException("invalid UTF-8 sequence at byte " + at, at);
            cp = (cp << 6) | (b & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            throw new JsonParseException("invalid UTF-8 sequence at byte " + at, at);
        }
        pos += len;
        return cp;
    }

    private void skipWhitespace() {
        while (pos < in.length) {
            byte b = in[pos];
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') return;
            pos++;
        }
    }

    /** The byte at pos, or -1 at the end (so callers can compare without bounds checks). */
    private int peek() {
        return pos < in.length ? in[pos] : -1;
    }

    private static boolean isDigit(int b) {
        return b >= '0' && b <= '9';
    }

    private String describe(int at) {
        if (at >= in.length) return "end of input";
        return printable(in[at] & 0xFF);
    }

    private static String printable(int b) {
        return b >= 0x20 && b < 0x7F ? "'" + (char) b + "'" : "byte " + hexByte(b);
    }

    private static String hexByte(int b) {
        return String.format("0x%02X", b & 0xFF);
    }

    private JsonParseException error(String what) {
        return new JsonParseException(what + " at byte " + pos, pos);
    }
}
