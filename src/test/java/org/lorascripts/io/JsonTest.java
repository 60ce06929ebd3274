package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The strict reader, the serde/Python-compatible writers and the one-line errors of {@link Json}. */
class JsonTest {

    private static Json.Malformed malformed(byte[] b) {
        Json.Malformed e = assertThrows(Json.Malformed.class, () -> Json.parse(b));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    private static Json.Malformed malformed(String s) {
        return malformed(s.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Parsing {@code json} fails at byte {@code at} with a message that says {@code what}. The
     * wording of syntax errors is Jackson's, so only its gist is pinned; the place is ours.
     */
    private static void fails(String json, String what, long at) {
        Json.Malformed e = malformed(json);
        assertTrue(e.getMessage().toLowerCase(Locale.ROOT).contains(what.toLowerCase(Locale.ROOT)), json + ": " + e.getMessage());
        assertTrue(e.getMessage().endsWith(" at byte " + at), json + ": " + e.getMessage());
        assertEquals(at, e.offset(), json + ": " + e.getMessage());
    }

    @Test
    void parsesEveryKindOfValueKeepingKeyOrder() throws Exception {
        JsonNode v = Json.parse(" {\"s\":\"x\", \"i\":-42, \"d\":1.5e3, \"t\":true, \"f\":false, \"n\":null, \"a\":[1,[]], \"o\":{}}\n");
        List<String> keys = new ArrayList<>();
        v.fieldNames().forEachRemaining(keys::add);
        assertEquals(List.of("s", "i", "d", "t", "f", "n", "a", "o"), keys);
        assertEquals("x", v.get("s").textValue());
        assertEquals(-42, v.get("i").intValue());
        assertTrue(v.get("i").isIntegralNumber());
        assertEquals(1500.0, v.get("d").doubleValue());
        assertTrue(v.get("d").isFloatingPointNumber());
        assertTrue(v.get("t").booleanValue());
        assertFalse(v.get("f").booleanValue());
        assertTrue(v.get("n").isNull());
        assertEquals(Json.array(1, Json.array()), v.get("a"));
        assertEquals(Json.object(), v.get("o"));
        assertEquals("integer", Json.typeName(v.get("i")));
        assertEquals("number", Json.typeName(v.get("d")));
        assertEquals("object", Json.typeName(v));
    }

    @Test
    void numbers() throws Exception {
        assertEquals(0, Json.parse("0").intValue());
        assertEquals(0, Json.parse("-0").intValue());
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807").longValue());
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808").longValue());
        // beyond 64 bits stays exact, so that a typed read can refuse it rather than wrap it
        JsonNode big = Json.parse("9223372036854775808");
        assertEquals(new BigInteger("9223372036854775808"), big.bigIntegerValue());
        assertFalse(big.canConvertToLong());
        assertEquals(-0.01, Json.parse("-1E-2").doubleValue());
        assertEquals(0.25, Json.parse("0.25").doubleValue());
        assertEquals("number out of range (beyond a double's ±1.8e308) at the top level", malformed("1e400").getMessage());
        assertEquals("number out of range (beyond a double's ±1.8e308) at /k/1", malformed("{\"k\": [1, -1e999]}").getMessage());
        fails("01", "leading zeroes not allowed", 1);
        fails("1.", "decimal point not followed by a digit", 1);
        fails("1ex", "exponent indicator not followed by a digit", 2);
        fails("-a", "expected digit", 1);
        fails("+1", "plus sign", 1);
        fails("NaN", "non-standard token 'NaN'", 3);
        fails("-Infinity", "non-standard token '-Infinity'", 9);
    }

    @Test
    void stringEscapesAndUnicode() throws Exception {
        assertEquals("a\"b\\c/d\b\f\n\r\t", Json.parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"").textValue());
        assertEquals("é€", Json.parse("\"\\u00e9\\u20AC\"").textValue());
        assertEquals("😀", Json.parse("\"\\ud83d\\ude00\"").textValue());
        assertEquals("raw é€ 😀", Json.parse("\"raw é€ 😀\"").textValue());
        assertEquals("unpaired surrogate \\uD83D in a string at the top level", malformed("\"\\ud83d\"").getMessage());
        assertEquals("unpaired surrogate \\uD83D in a string at the top level", malformed("\"\\ud83dx\"").getMessage());
        assertEquals("unpaired surrogate \\uD83D in a string at the top level", malformed("\"\\ud83d\\u0041\"").getMessage());
        assertEquals("unpaired surrogate \\uDE00 in a string at /a", malformed("{\"a\": \"\\ude00\"}").getMessage());
        fails("{\"x/y\": {\"\\ude00\": 1}}", "surrogate", 16);  // in a key: Jackson's byte parser refuses it itself
        fails("\"\\u00g0\"", "hex-digit", 5);
        fails("\"\\x\"", "escape 'x'", 2);
        fails("\"a\nb\"", "CTRL-CHAR, code 10", 2);
        fails("\"abc", "end-of-input", 4);
    }

    @Test
    void rejectsInvalidUtf8() {
        assertEquals("invalid UTF-8 byte 0xFF at byte 1", malformed(new byte[] {'"', (byte) 0xFF, '"'}).getMessage());
        // overlong encoding of '/', which Jackson alone would read as '/'
        assertEquals("invalid UTF-8 byte 0xC0 at byte 1", malformed(new byte[] {'"', (byte) 0xC0, (byte) 0xAF, '"'}).getMessage());
        // UTF-8-encoded surrogate U+D800
        assertEquals("invalid UTF-8 byte 0xED at byte 1", malformed(new byte[] {'"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"'}).getMessage());
        assertEquals("invalid UTF-8 byte 0xC3 at byte 1", malformed(new byte[] {'"', (byte) 0xC3, 'A', '"'}).getMessage());
        assertEquals("invalid UTF-8 byte 0xE2 at byte 1", malformed(new byte[] {'"', (byte) 0xE2, (byte) 0x82}).getMessage());
        assertEquals(1, malformed(new byte[] {(byte) 0xC3, (byte) 0xA9}).offset(), "é is valid UTF-8 but not a JSON value");
    }

    @Test
    void structuralErrorsNameTheByte() {
        fails("", "unexpected end of input, expected a value", 0);
        fails("  ", "unexpected end of input, expected a value", 2);
        fails("[1,]", "expected a value", 3);
        fails("{\"a\":1,}", "field name", 7);
        fails("{\"a\" 1}", "colon", 5);
        fails("{\"a\":1 \"b\":2}", "comma", 7);
        fails("[1", "end-of-input", 2);
        fails("{", "end-of-input", 1);
        fails("{} x", "unexpected content after the JSON value", 3);
        fails("{} // comment", "unexpected content after the JSON value", 3);
        fails("{} {}", "unexpected '{' after the JSON value", 3);
        fails("tru", "unrecognized token 'tru'", 0);
        // at the duplicate's opening quote, including keys that end in an escaped quote or backslash
        fails("{\"a\":1,\"a\":2}", "duplicate key 'a'", 7);
        fails("{\"q\\\"\":1, \"q\\\"\" :2}", "duplicate key 'q\"'", 10);
        fails("{\"b\\\\\":1,\"b\\\\\":2}", "duplicate key 'b\\'", 9);
        fails("{\"o\":{\"k\":1,\"k\":{}}}", "duplicate key 'k'", 12);
    }

    @Test
    void multiLineDocumentsAreLocatedByLineAndColumn() {
        Json.Malformed e = malformed("{\n  \"a\": 1,\n  \"a\": 2\n}");
        assertEquals("duplicate key 'a' at line 3, column 3", e.getMessage());
        assertEquals(14, e.offset());
    }

    @Test
    void boundsNestingDepth() throws Exception {
        int ok = Json.MAX_DEPTH;
        Json.parse("[".repeat(ok) + "]".repeat(ok));
        String tooDeep = "[".repeat(ok + 1) + "]".repeat(ok + 1);
        assertEquals("document nesting depth (513) exceeds the maximum allowed (512) at byte 513", malformed(tooDeep).getMessage());
    }

    /**
     * parseLarge admits what Jackson's defaults refuse but the format allows (safetensors headers
     * up to 100 MB), and refuses numbers beyond a double at their byte without converting them.
     */
    @Test
    void largeDocumentsPassJacksonsDefaultLimits() throws Exception {
        String longString = "s".repeat(20_000_001);
        String longKey = "k".repeat(50_001);
        String longNumber = "0." + "1".repeat(1_500);
        String doc = "{\"" + longKey + "\":[\"" + longString + "\"," + longNumber + "]}";
        assertThrows(Json.Malformed.class, () -> Json.parse(doc), "Jackson's defaults refuse it");
        JsonNode v = Json.parseLarge(doc.getBytes(StandardCharsets.UTF_8));
        assertEquals(longString, v.get(longKey).get(0).textValue());
        assertEquals(0.1111111111111111, v.get(longKey).get(1).doubleValue());
        Json.parseLarge(("[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH)).getBytes(StandardCharsets.US_ASCII));
        assertThrows(Json.Malformed.class,
                () -> Json.parseLarge(("[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1)).getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void largeDocumentsRefuseNumbersBeyondADoubleAtTheirByte() throws Exception {
        assertEquals(new BigInteger("9223372036854775808"), Json.parseLarge("[9223372036854775808]".getBytes(StandardCharsets.US_ASCII)).get(0).bigIntegerValue());
        String big = "1" + "0".repeat(308);  // 1e308: still a double
        assertTrue(Json.parseLarge(("[" + big + "]").getBytes(StandardCharsets.US_ASCII)).get(0).isBigInteger());
        assertEquals("number out of range (beyond a double's ±1.8e308) at byte 6",
                assertThrows(Json.Malformed.class, () -> Json.parseLarge(("{\"a\": " + big + "0}").getBytes(StandardCharsets.US_ASCII))).getMessage());
        assertEquals("number out of range (beyond a double's ±1.8e308) at byte 4",
                assertThrows(Json.Malformed.class, () -> Json.parseLarge("[1, -1e999]".getBytes(StandardCharsets.US_ASCII))).getMessage());
        // Ten million digits: BigInteger would take minutes; refused in one pass over them.
        byte[] huge = ("[" + "9".repeat(10_000_000) + "]").getBytes(StandardCharsets.US_ASCII);
        long t0 = System.nanoTime();
        Json.Malformed e = assertThrows(Json.Malformed.class, () -> Json.parseLarge(huge));
        assertEquals(1, e.offset(), e.getMessage());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L, "took " + (System.nanoTime() - t0) / 1e9 + " s");
    }

    @Test
    void fileErrorsNameTheFile(@TempDir Path dir) throws IOException {
        Path f = Files.writeString(dir.resolve("config.json"), "{\n  \"hidden_size\": 8,\n}\n");
        IOException e = assertThrows(IOException.class, () -> Json.read(f));
        assertTrue(e.getMessage().startsWith(f + ": not valid JSON: "), e.getMessage());
        assertTrue(e.getMessage().endsWith(" at line 3, column 1"), e.getMessage());
        Path list = Files.writeString(dir.resolve("list.json"), "[1]");
        assertEquals(list + ": expected a JSON object at the top level, found array",
                assertThrows(IOException.class, () -> Json.readObject(list)).getMessage());
    }

    private static ObjectNode sample() {
        return Json.object("z", "é \"q\" \\ \n\t\u0001\u001f 😀", "a", Json.array(1, -2.5, true, null), "e", Json.object(), "l", Json.array());
    }

    @Test
    void compactKeepsInsertionOrderAndEscapesLikeSerdeJson() {
        String want = "{\"z\":\"é \\\"q\\\" \\\\ \\n\\t\\u0001\\u001f 😀\",\"a\":[1,-2.5,true,null],\"e\":{},\"l\":[]}";
        assertEquals(want, Json.write(sample()));
        // the bytes too: 😀 as four UTF-8 bytes, not as a \\ud83d\\ude00 escape
        assertArrayEquals(want.getBytes(StandardCharsets.UTF_8), Json.writeUtf8(sample()));
        assertEquals("[1.0E-4,1500.0,0.1,1099511627776]", Json.write(Json.array(1e-4, 1500.0, 0.1, 1L << 40)), "Java's shortest doubles");
    }

    @Test
    void prettyLooksLikePythonIndent2() {
        assertEquals("""
                {
                  "z": "é \\"q\\" \\\\ \\n\\t\\u0001\\u001f 😀",
                  "a": [
                    1,
                    -2.5,
                    true,
                    null
                  ],
                  "e": {},
                  "l": []
                }""", Json.writePretty(sample()));
    }

    @Test
    void roundTrips() throws Exception {
        assertEquals(sample(), Json.parse(Json.write(sample())));
        assertEquals(sample(), Json.parse(Json.writePretty(sample())));
        assertEquals(sample(), Json.parse(Json.writeUtf8(sample())));
    }

    @Test
    void rejectsNumbersJsonCannotSpell() {
        assertEquals("JSON cannot represent the number NaN",
                assertThrows(IllegalArgumentException.class, () -> Json.write(Json.object("loss", Double.NaN))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Json.writePretty(Json.array(Double.POSITIVE_INFINITY)));
        assertThrows(IllegalArgumentException.class, () -> Json.writeUtf8(Json.array(Float.NEGATIVE_INFINITY)));
    }

    /** The committed demo model files were written by the previous writer; ours must give the same bytes. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama/config.json", "tiny-llama/tokenizer_config.json", "tiny-llama/tokenizer.json"})
    void rewritesTheShippedJsonFilesByteForByte(String name) throws IOException {
        byte[] file = Files.readAllBytes(Path.of("demo-models", name));
        JsonNode v = Json.parse(file);
        String text = new String(file, StandardCharsets.UTF_8);
        String again = text.startsWith("{\n") ? Json.writePretty(v) + (text.endsWith("\n") ? "\n" : "") : Json.write(v);
        assertEquals(text, again);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llama/model.safetensors", "tiny-sd/tiny-sd.safetensors"})
    void rewritesTheShippedSafetensorsHeadersByteForByte(String name) throws IOException {
        byte[] file = Files.readAllBytes(BundledModels.file(name));   // the cached copy (tiny-sd ships gzip-compressed)
        int length = Math.toIntExact(ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
        byte[] header = Arrays.copyOfRange(file, 8, 8 + length);
        String json = new String(header, StandardCharsets.UTF_8).stripTrailing();  // the header is padded with spaces
        assertEquals(json, new String(Json.writeUtf8(Json.parse(header)), StandardCharsets.UTF_8));
    }

    @Test
    void buildsNodesFromJavaValues() {
        assertEquals("{\"s\":\"x\",\"i\":1,\"l\":5000000000,\"d\":0.5,\"b\":false,\"n\":null,\"list\":[1,\"a\"],\"ids\":[3,4]}",
                Json.write(Json.object("s", "x", "i", 1, "l", 5_000_000_000L, "d", 0.5, "b", false, "n", null,
                        "list", List.of(1, "a"), "ids", new long[] {3, 4})));
        assertEquals("\"" + "x".repeat(56) + "...", Json.brief(Json.node("x".repeat(100))), "cut to 60 characters");
    }
}
