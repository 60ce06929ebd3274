package org.lorascripts.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.JsonGeneratorDelegate;
import com.fasterxml.jackson.core.util.JsonParserDelegate;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The project's one JSON mapper and the reads and writes every JSON file goes through.
 *
 * <p>Reading is strict RFC 8259, because the files we read (HF configs, tokenizer files, PEFT
 * adapter configs, safetensors headers, JSONL data) are also read by Python, and a file that only
 * a lenient parser accepts would mean something else there: no comments, trailing commas, NaN,
 * Infinity, leading zeros or raw control characters (Jackson's defaults); duplicate keys refused
 * (a config with two values for one key has no single meaning); invalid UTF-8, overlong forms
 * and unpaired surrogates refused; numbers beyond a double's range refused rather than read as
 * Infinity; at most {@value #MAX_DEPTH} levels of nesting. Integers beyond 64 bits are kept exact
 * (BigIntegerNode), so the typed reads of {@link JsonFields} can refuse them instead of wrapping.
 * Errors are one line: what went wrong and where (the byte for one-line documents such as a
 * safetensors header or a JSONL line, line and column otherwise), prefixed by the file when there is one.
 * {@link #parseLarge} is the same reader with limits sized for safetensors headers (see {@link #LARGE}).
 *
 * <p>Writing keeps object keys in insertion order. The compact form equals serde_json's and Python's
 * {@code json.dumps(v, separators=(",", ":"), ensure_ascii=False)} byte for byte for strings and
 * integers (safetensors headers and kohya metadata need that): only {@code "}, {@code \} and control
 * characters are escaped, in lower-case hex; other text is raw UTF-8. {@link #writePretty} is Python's
 * {@code json.dumps(v, indent=2)}. NaN and infinities are refused: JSON cannot spell them, and a
 * quoted "NaN" (Jackson's default) would turn a number into a string for the next reader.
 */
public final class Json {
    /** Deep enough for any real config; shallow enough that a hostile file cannot exhaust the reader. */
    public static final int MAX_DEPTH = 512;

    public static final ObjectMapper MAPPER = mapper(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).build());

    /**
     * The reader of {@link #parseLarge}: safetensors headers and sharded-checkpoint indexes, whose
     * readers have already bounded them by {@link SafetensorsFile#MAX_HEADER_BYTES} (100 MB).
     * Jackson's default limits are made for untrusted request bodies and would refuse valid headers
     * that the reader before Jackson accepted: strings past 20 million characters (a long
     * {@code __metadata__} value, such as an embedded training config), keys past 50,000
     * characters (tensor names) and numbers past 1,000 digits (in the unknown fields of a tensor
     * entry, which the format ignores). Each of these is bounded by the document size here, as is
     * the document. The token count stays unlimited (Jackson's default, set explicitly so that a
     * new default cannot start refusing big headers). Nesting stays at {@value #MAX_DEPTH}, the
     * limit of the reader before: no header it accepted is refused, and a hostile one cannot
     * exhaust the stack. With numbers of any length allowed, {@link FiniteNumbersIn} keeps huge
     * integers away from BigInteger's quadratic conversion.
     */
    private static final ObjectMapper LARGE = mapper(StreamReadConstraints.builder()
            .maxNestingDepth(MAX_DEPTH)
            .maxDocumentLength(SafetensorsFile.MAX_HEADER_BYTES)
            .maxTokenCount(-1)
            .maxStringLength(Math.toIntExact(SafetensorsFile.MAX_HEADER_BYTES))
            .maxNameLength(Math.toIntExact(SafetensorsFile.MAX_HEADER_BYTES))
            .maxNumberLength(Math.toIntExact(SafetensorsFile.MAX_HEADER_BYTES))
            .build());

    private static final ObjectWriter PRETTY = MAPPER.writer(new DefaultPrettyPrinter(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                    .withObjectEmptySeparator("")
                    .withArrayEmptySeparator(""))
            .withObjectIndenter(new DefaultIndenter("  ", "\n"))
            .withArrayIndenter(new DefaultIndenter("  ", "\n")));

    private Json() {}

    private static ObjectMapper mapper(StreamReadConstraints limits) {
        return JsonMapper.builder(JsonFactory.builder()
                        .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                        .streamReadConstraints(limits)
                        .disable(JsonWriteFeature.WRITE_HEX_UPPER_CASE)
                        .enable(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8)  // 😀 as 4 UTF-8 bytes, not \ud83d\ude00
                        .addDecorator((factory, g) -> new FiniteNumbersOnly(g))
                        .build())
                .build();
    }

    /** Malformed JSON, or JSON of the wrong shape for its file. The message is one line. */
    public static final class Malformed extends IOException {
        private final long offset;

        public Malformed(String message, long offset) {
            super(message);
            this.offset = offset;
        }

        /** The 0-based UTF-8 byte offset where reading stopped, or -1 when the error has no single place. */
        public long offset() { return offset; }
    }

    // ---- reading ----

    /** Parses one JSON document. */
    public static JsonNode parse(byte[] utf8) throws Malformed {
        return parse(utf8, false);
    }

    /**
     * Parses one document of up to {@link SafetensorsFile#MAX_HEADER_BYTES}, such as a safetensors
     * header: the rules of {@link #parse}, with Jackson's limits on string, key and number length
     * raised to the document size (see {@link #LARGE}), and numbers beyond a double's range refused
     * at their byte, integers included.
     */
    public static JsonNode parseLarge(byte[] utf8) throws Malformed {
        return parse(utf8, true);
    }

    private static JsonNode parse(byte[] utf8, boolean large) throws Malformed {
        checkUtf8(utf8);
        try (JsonParser raw = (large ? LARGE : MAPPER).createParser(utf8)) {
            JsonParser p = large ? new FiniteNumbersIn(raw) : raw;
            JsonNode root;
            try {
                root = (large ? LARGE : MAPPER).readTree(p);
            } catch (JacksonException e) {
                throw malformed(e, p, utf8);
            }
            if (root == null || root.isMissingNode()) throw at("unexpected end of input, expected a value", p.currentLocation());
            try {
                if (p.nextToken() != null) throw at("unexpected " + describe(p.currentToken()) + " after the JSON value", p.currentTokenLocation());
            } catch (JacksonException e) {
                throw at("unexpected content after the JSON value", e.getLocation() != null ? e.getLocation() : p.currentLocation());
            }
            checkValues(root, "");
            return root;
        } catch (Malformed e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("reading JSON from memory", e);  // a byte array cannot fail to read
        }
    }

    /** Parses one JSON document; offsets in errors are UTF-8 byte offsets of {@code text}. */
    public static JsonNode parse(String text) throws Malformed {
        return parse(text.getBytes(StandardCharsets.UTF_8));
    }

    /** Reads a JSON file; errors start with the path ("config.json: not valid JSON: ..."). */
    public static JsonNode read(Path file) throws IOException {
        return read(file, false);
    }

    /** {@link #read} with the limits of {@link #parseLarge}; the caller bounds the file's size first. */
    public static JsonNode readLarge(Path file) throws IOException {
        return read(file, true);
    }

    private static JsonNode read(Path file, boolean large) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        try {
            return parse(bytes, large);
        } catch (Malformed e) {
            throw new Malformed(file + ": not valid JSON: " + e.getMessage(), e.offset());
        }
    }

    /** Reads a JSON file that must hold an object at the top level. */
    public static ObjectNode readObject(Path file) throws IOException {
        JsonNode root = read(file);
        if (root instanceof ObjectNode o) return o;
        throw new Malformed(file + ": expected a JSON object at the top level, found " + typeName(root), 0);
    }

    // ---- writing ----

    /** Compact JSON (see the class comment for the exact form). */
    public static String write(JsonNode v) {
        try {
            return MAPPER.writeValueAsString(v);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        }
    }

    public static byte[] writeUtf8(JsonNode v) {
        try {
            return MAPPER.writeValueAsBytes(v);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        }
    }

    /** Two-space indentation with ": " after keys and no trailing newline, like Python's {@code json.dumps(v, indent=2)}. */
    public static String writePretty(JsonNode v) {
        try {
            return PRETTY.writeValueAsString(v);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        }
    }

    /**
     * Writes {@code v} pretty-printed with a final newline, atomically, as transformers' and PEFT's
     * {@code save_pretrained} write their JSON files.
     */
    public static void writePrettyFile(Path file, JsonNode v) throws IOException {
        AtomicFileWriter.write(file, (writePretty(v) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    // ---- building and describing trees ----

    public static ObjectNode object() { return MAPPER.createObjectNode(); }

    /**
     * An object of alternating keys and values, in that order. Values are JSON nodes, or strings,
     * numbers, booleans, lists, maps and null, converted as Jackson converts them.
     */
    public static ObjectNode object(Object... keyValues) {
        if (keyValues.length % 2 != 0) throw new IllegalArgumentException("keys and values must alternate");
        ObjectNode o = object();
        for (int i = 0; i < keyValues.length; i += 2) o.set((String) keyValues[i], node(keyValues[i + 1]));
        return o;
    }

    /** An object with the entries of {@code map} in its iteration order. */
    public static ObjectNode object(Map<String, ?> map) {
        ObjectNode o = object();
        map.forEach((k, v) -> o.set(k, node(v)));
        return o;
    }

    /** An array of the given values, converted as in {@link #object(Object...)}. */
    public static ArrayNode array(Object... items) {
        ArrayNode a = MAPPER.createArrayNode();
        for (Object item : items) a.add(node(item));
        return a;
    }

    /** A Java value as a JSON node (a node stays itself). */
    public static JsonNode node(Object v) {
        return switch (v) {
            case null -> NullNode.instance;
            case JsonNode n -> n;
            // the common scalars directly: the nodes the parser would make, without a round trip through Jackson's serializers
            case String s -> TextNode.valueOf(s);
            case Boolean b -> BooleanNode.valueOf(b);
            case Integer i -> IntNode.valueOf(i);
            case Long l -> LongNode.valueOf(l);
            case Double d -> DoubleNode.valueOf(d);
            default -> MAPPER.valueToTree(v);
        };
    }

    /**
     * The number, or null for NaN and infinities, for files that must stay readable when a loss
     * diverges (metrics rows, trainer state), where the writers refuse them everywhere else.
     */
    public static JsonNode numberOrNull(double v) {
        return Double.isFinite(v) ? DoubleNode.valueOf(v) : NullNode.instance;
    }

    /** "object", "array", "string", "integer", "number", "boolean" or "null", for error messages. */
    public static String typeName(JsonNode v) {
        if (v == null || v.isMissingNode()) return "nothing";
        if (v.isIntegralNumber()) return "integer";
        return switch (v.getNodeType()) {
            case OBJECT -> "object";
            case ARRAY -> "array";
            case STRING -> "string";
            case NUMBER -> "number";
            case BOOLEAN -> "boolean";
            case NULL -> "null";
            default -> v.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** The value as compact JSON, cut to a length that fits an error message. */
    public static String brief(JsonNode v) {
        String s = v == null ? "nothing" : write(v);
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    // ---- the checks Jackson does not make ----

    /**
     * Jackson decodes overlong UTF-8 forms (C0 AF as '/') without complaint; Java's decoder refuses
     * them, encoded surrogates and code points past U+10FFFF, and says where.
     */
    private static void checkUtf8(byte[] utf8) throws Malformed {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(utf8);
        CharBuffer out = CharBuffer.allocate(Math.min(utf8.length, 8192) + 2);
        while (true) {
            CoderResult r = in.hasRemaining() ? d.decode(in, out, true) : CoderResult.UNDERFLOW;
            if (r.isError()) {
                int at = in.position();
                throw new Malformed(String.format("invalid UTF-8 byte 0x%02X at byte %d", utf8[at] & 0xFF, at), at);
            }
            if (r.isUnderflow()) return;  // all of it decoded (a sequence cut off at the end is an error above)
            out.clear();  // overflow: only validating, the decoded text is not kept
        }
    }

    /**
     * Numbers too large for a double (Jackson reads 1e400 as Infinity) and unpaired surrogates
     * from {@code \\u} escapes (which no UTF-8 writer can write back) are refused, named by their
     * JSON pointer.
     */
    private static void checkValues(JsonNode v, String pointer) throws Malformed {
        if (v.isFloatingPointNumber() && !Double.isFinite(v.doubleValue())) {
            throw new Malformed("number out of range (beyond a double's ±1.8e308) at " + where(pointer), -1);
        }
        if (v.isTextual()) checkSurrogates(v.textValue(), "a string at " + where(pointer));
        if (v.isArray()) {
            for (int i = 0; i < v.size(); i++) checkValues(v.get(i), pointer + "/" + i);
        } else if (v.isObject()) {
            for (Map.Entry<String, JsonNode> e : v.properties()) {
                checkSurrogates(e.getKey(), "a key at " + where(pointer));  // Jackson refuses these itself; kept should that change
                checkValues(e.getValue(), pointer + "/" + e.getKey().replace("~", "~0").replace("/", "~1"));
            }
        }
    }

    private static void checkSurrogates(String s, String what) throws Malformed {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new Malformed(String.format("unpaired surrogate \\u%04X in %s", (int) c, what), -1);
            }
        }
    }

    private static String where(String pointer) {
        return pointer.isEmpty() ? "the top level" : pointer;
    }

    // ---- messages ----

    /**
     * Jackson's message, reduced to one line without its hints about features to enable. A
     * duplicate is called a key, as in the files' own documentation (config keys, metadata keys),
     * and placed at the key's opening quote rather than just past it, where a hex dump of a
     * safetensors header shows the key begin.
     */
    private static Malformed malformed(JacksonException e, JsonParser p, byte[] utf8) {
        String m = e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
        m = m.lines().findFirst().orElse("")
                .replaceAll(" \\(start marker at \\[.*?\\]\\)", "")
                .replaceAll(": enable `[^`]*` to allow", "")
                .replaceAll(" \\(not recognized as one since Feature '\\w+' not enabled for parser\\)", "")
                .replaceAll(", from `[^`]*`\\)", ")");
        JsonLocation loc = e.getLocation() != null ? e.getLocation() : p.currentLocation();
        if (m.startsWith("Duplicate field '")) {
            m = "duplicate key" + m.substring("Duplicate field".length());
            loc = keyStart(utf8, loc);
        }
        if (!m.isEmpty()) m = Character.toLowerCase(m.charAt(0)) + m.substring(1);
        return at(m, loc);
    }

    /**
     * The opening quote of the key whose closing quote is the byte before {@code end}: the first
     * quote before it that is not escaped (preceded by an even number of backslashes), since a
     * key holds no other. Keys hold no raw line breaks, so the column moves by as many bytes.
     * Jackson's place is kept should it ever point elsewhere.
     */
    private static JsonLocation keyStart(byte[] utf8, JsonLocation end) {
        long close = end.getByteOffset() - 1;
        if (close < 1 || close >= utf8.length || utf8[(int) close] != '"') return end;
        for (int i = (int) close - 1; i >= 0; i--) {
            if (utf8[i] != '"') continue;
            int backslashes = 0;
            while (i - 1 - backslashes >= 0 && utf8[i - 1 - backslashes] == '\\') backslashes++;
            if (backslashes % 2 == 0) {
                long back = end.getByteOffset() - i;
                return new JsonLocation(end.contentReference(), i, -1, end.getLineNr(), (int) (end.getColumnNr() - back));
            }
        }
        return end;
    }

    /** One-line documents (headers, JSONL lines) are located by byte, others by line and column. */
    private static Malformed at(String what, JsonLocation loc) {
        long b = loc.getByteOffset();
        String where = loc.getLineNr() <= 1 ? " at byte " + b : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
        return new Malformed(what + where, b);
    }

    private static String describe(JsonToken t) {
        return switch (t) {
            case START_OBJECT -> "'{'";
            case START_ARRAY -> "'['";
            case END_OBJECT -> "'}'";
            case END_ARRAY -> "']'";
            default -> "a second value";
        };
    }

    /**
     * For {@link #parseLarge}: a number beyond a double's range is refused as it is read, at its
     * byte, as the reader before Jackson did. For an integer this must happen before databind
     * asks for its BigInteger: with the number length limit raised to 100 MB, converting a
     * hostile integer of millions of digits would take BigInteger's quadratic time. Jackson only
     * classifies an integer by its digit count when asked for its type, and parsing its text as a
     * double is linear, so the check costs one pass over the digits of integers past 64 bits.
     */
    private static final class FiniteNumbersIn extends JsonParserDelegate {
        FiniteNumbersIn(JsonParser p) { super(p); }

        @Override
        public NumberType getNumberType() throws IOException {
            NumberType t = super.getNumberType();
            if (t == NumberType.BIG_INTEGER) finite(Double.parseDouble(getText()));
            return t;
        }

        @Override
        public double getDoubleValue() throws IOException {
            return finite(super.getDoubleValue());
        }

        private double finite(double v) throws StreamConstraintsException {
            if (Double.isFinite(v)) return v;
            throw new StreamConstraintsException("number out of range (beyond a double's ±1.8e308)", currentTokenLocation());
        }
    }

    /** Refuses NaN and infinities at write time; see the class comment. */
    private static final class FiniteNumbersOnly extends JsonGeneratorDelegate {
        FiniteNumbersOnly(JsonGenerator g) { super(g, false); }

        @Override
        public void writeNumber(double v) throws IOException {
            if (!Double.isFinite(v)) throw new com.fasterxml.jackson.core.JsonGenerationException("JSON cannot represent the number " + v, this);
            super.writeNumber(v);
        }

        @Override
        public void writeNumber(float v) throws IOException {
            if (!Float.isFinite(v)) throw new com.fasterxml.jackson.core.JsonGenerationException("JSON cannot represent the number " + v, this);
            super.writeNumber(v);
        }
    }
}
