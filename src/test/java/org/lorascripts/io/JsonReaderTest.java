package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonReaderTest {

    private static JsonValue parse(String s) throws JsonParseException {
        return JsonReader.parse(s);
    }

    private static String error(String s) {
        return assertThrows(JsonParseException.class, () -> JsonReader.parse(s)).getMessage();
    }

    private static String error(byte[] b) {
        return assertThrows(JsonParseException.class, () -> JsonReader.parse(b)).getMessage();
    }

    @Test
    void parsesEveryKindOfValue() throws Exception {
        JsonValue v = parse(" {\"s\":\"x\", \"i\":-42, \"d\":1.5e3, \"t\":true, \"f\":false, \"n\":null, \"a\":[1,[]], \"o\":{}}\n");
        JsonValue.Obj o = (JsonValue.Obj) v;
        assertEquals(List.of("s", "i", "d", "t", "f", "n", "a", "o"), List.copyOf(o.members().keySet()));
        assertEquals(new JsonValue.Str("x"), o.get("s"));
        assertEquals(new JsonValue.Int(-42), o.get("i"));
        assertEquals(new JsonValue.Dec(1500.0), o.get("d"));
        assertEquals(new JsonValue.Bool(true), o.get("t"));
        assertEquals(new JsonValue.Bool(false), o.get("f"));
        assertEquals(JsonValue.Null.INSTANCE, o.get("n"));
        assertEquals(new JsonValue.Arr(List.of(new JsonValue.Int(1), new JsonValue.Arr(List.of()))), o.get("a"));
        assertEquals(new JsonValue.Obj(Map.of()), o.get("o"));
    }

    @Test
    void numbers() throws Exception {
        assertEquals(new JsonValue.Int(0), parse("0"));
        assertEquals(new JsonValue.Int(0), parse("-0"));
        assertEquals(new JsonValue.Int(Long.MAX_VALUE), parse("9223372036854775807"));
        assertEquals(new JsonValue.Int(Long.MIN_VALUE), parse("-9223372036854775808"));
        assertEquals(new JsonValue.Dec(9223372036854775808.0), parse("9223372036854775808"));
        assertEquals(new JsonValue.Dec(-0.01), parse("-1E-2"));
        assertEquals(new JsonValue.Dec(0.25), parse("0.25"));
        assertEquals("number 1e400 out of range at byte 0", error("1e400"));
        assertEquals("unexpected '1' after the JSON value at byte 1", error("01"));
        assertEquals("expected a digit after '.', found end of input at byte 2", error("1."));
        assertEquals("expected a digit in the exponent, found 'x' at byte 2", error("1ex"));
        assertEquals("expected a digit, found 'a' at byte 1", error("-a"));
        assertEquals("unexpected '+', expected a value at byte 0", error("+1"));
        assertEquals("unexpected 'N', expected a value at byte 0", error("NaN"));
    }

    @Test
    void stringEscapesAndUnicode() throws Exception {
        assertEquals(new JsonValue.Str("a\"b\\c/d\b\f\n\r\t"), parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\""));
        assertEquals(new JsonValue.Str("é€"), parse("\"\\u00e9\\u20AC\""));
        assertEquals(new JsonValue.Str("😀"), parse("\"\\ud83d\\ude00\""));
        assertEquals(new JsonValue.Str("raw é€ 😀"), parse("\"raw é€ 😀\""));
        assertEquals("unpaired surrogate \\uD83D at byte 1", error("\"\\ud83d\""));
        assertEquals("unpaired surrogate \\uD83D at byte 1", error("\"\\ud83dx\""));
        assertEquals("unpaired surrogate \\uD83D at byte 1", error("\"\\ud83d\\u0041\""));
        assertEquals("unpaired surrogate \\uDE00 at byte 1", error("\"\\ude00\""));
        assertEquals("expected 4 hex digits after \\u, found 'g' at byte 5", error("\"\\u00g0\""));
        assertEquals("invalid escape 'x' after a backslash at byte 1", error("\"\\x\""));
        assertEquals("raw control character 0x0A in string (write it as an escape) at byte 2", error("\"a\nb\""));
        assertEquals("unterminated string at byte 4", error("\"abc"));
    }

    @Test
    void rejectsInvalidUtf8() {
        assertEquals("invalid UTF-8 byte 0xFF at byte 1", error(new byte[] {'"', (byte) 0xFF, '"'}));
        // overlong encoding of '/'
        assertEquals("invalid UTF-8 byte 0xC0 at byte 1", error(new byte[] {'"', (byte) 0xC0, (byte) 0xAF, '"'}));
        // UTF-8-encoded surrogate U+D800
        assertEquals("invalid UTF-8 sequence at byte 1", error(new byte[] {'"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"'}));
        assertEquals("invalid UTF-8 sequence at byte 1", error(new byte[] {'"', (byte) 0xC3, 'A', '"'}));
        assertEquals("truncated UTF-8 sequence at byte 1", error(new byte[] {'"', (byte) 0xE2, (byte) 0x82}));
        assertEquals("unexpected byte 0xC3, expected a value at byte 0", error(new byte[] {(byte) 0xC3, (byte) 0xA9}));
    }

    @Test
    void structuralErrorsNameTheByte() {
        assertEquals("unexpected end of input, expected a value at byte 0", error(""));
        assertEquals("unexpected end of input, expected a value at byte 2", error("  "));
        assertEquals("unexpected ']', expected a value at byte 3", error("[1,]"));
        assertEquals("expected a string key, found '}' at byte 7", error("{\"a\":1,}"));
        assertEquals("expected ':' after key 'a', found '1' at byte 5", error("{\"a\" 1}"));
        assertEquals("expected ',' or '}' in object, found '\"' at byte 7", error("{\"a\":1 \"b\":2}"));
        assertEquals("expected ',' or ']' in array, found end of input at byte 2", error("[1"));
        assertEquals("expected a string key, found end of input at byte 1", error("{"));
        assertEquals("unexpected 'x' after the JSON value at byte 3", error("{} x"));
        assertEquals("unexpected '/' after the JSON value at byte 3", error("{} // comment"));
        assertEquals("unexpected 't', expected a value at byte 0", error("tru"));
        assertEquals("duplicate key 'a' at byte 7", error("{\"a\":1,\"a\":2}"));
    }

    @Test
    void boundsNestingDepth() throws Exception {
        int ok = JsonReader.MAX_DEPTH;
        parse("[".repeat(ok) + "]".repeat(ok));
        String tooDeep = "[".repeat(ok + 1) + "]".repeat(ok + 1);
        assertEquals("nesting deeper than 512 levels at byte 512", error(tooDeep));
    }
}
