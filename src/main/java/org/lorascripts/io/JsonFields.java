package org.lorascripts.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Typed reads of the members of one JSON object (an HF {@code config.json}, a diffusers config,
 * a PEFT {@code adapter_config.json}), with one-line errors that name the file and the key:
 * {@code config.json: hidden_size must be an integer, got "abc"}. Members of nested objects are
 * named by their path ({@code rope_scaling.factor}).
 *
 * <p>An explicit null reads as absent (transformers writes null for "use the default"). Integers
 * must fit the type asked for: 3e9 for an int is an error, never a wrapped value. An integral
 * floating-point value (4.0) is accepted where an integer is expected, since Python writes one
 * for {@code int(x) * 1.0} and means the same number.
 */
public final class JsonFields {
    private final ObjectNode obj;
    private final String where;
    private final String prefix;

    private JsonFields(ObjectNode obj, String where, String prefix) {
        this.obj = obj;
        this.where = where;
        this.prefix = prefix;
    }

    /** The members of {@code root}, which must be an object; {@code where} (usually the file) starts every error. */
    public static JsonFields of(JsonNode root, String where) {
        if (!(root instanceof ObjectNode o)) throw new IllegalArgumentException(where + ": expected a JSON object, found " + Json.typeName(root));
        return new JsonFields(o, where, "");
    }

    /** The nested object {@code key}, or null when absent; errors name its members {@code key.member}. */
    public JsonFields object(String key) {
        JsonNode v = get(key);
        if (v == null) return null;
        if (!(v instanceof ObjectNode o)) throw bad(key, "an object");
        return new JsonFields(o, where, prefix + key + ".");
    }

    public ObjectNode node() { return obj; }

    /** The member, or null when absent or null. */
    public JsonNode get(String key) {
        JsonNode v = obj.get(key);
        return v == null || v.isNull() ? null : v;
    }

    public boolean has(String key) { return get(key) != null; }

    public int integer(String key) {
        return Math.toIntExact(integerIn(key, require(key, "an integer"), Integer.MIN_VALUE, Integer.MAX_VALUE));
    }

    public int integer(String key, int dflt) { return has(key) ? integer(key) : dflt; }

    public long longInteger(String key) {
        return integerIn(key, require(key, "an integer"), Long.MIN_VALUE, Long.MAX_VALUE);
    }

    public long longInteger(String key, long dflt) { return has(key) ? longInteger(key) : dflt; }

    /** The integer, or null when absent. */
    public Long optLong(String key) { return has(key) ? longInteger(key) : null; }

    public double number(String key) {
        JsonNode v = require(key, "a number");
        if (!v.isNumber()) throw bad(key, "a number");
        return v.doubleValue();
    }

    public double number(String key, double dflt) { return has(key) ? number(key) : dflt; }

    public boolean bool(String key, boolean dflt) {
        JsonNode v = get(key);
        if (v == null) return dflt;
        if (!v.isBoolean()) throw bad(key, "true or false");
        return v.booleanValue();
    }

    public String string(String key, String dflt) {
        JsonNode v = get(key);
        if (v == null) return dflt;
        if (!v.isTextual()) throw bad(key, "a string");
        return v.textValue();
    }

    /**
     * An integer list; a single integer stands for {@code repeat} copies of itself (diffusers'
     * convention for per-block settings; pass 1 to read "one id or a list of ids").
     */
    public List<Integer> integers(String key, int repeat, List<Integer> dflt) {
        JsonNode v = get(key);
        if (v == null) return dflt;
        if (v.isNumber()) return Collections.nCopies(repeat, integer(key));
        if (!v.isArray()) throw bad(key, "an integer or a list of integers");
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            out.add(Math.toIntExact(integerIn(key + "[" + i + "]", v.get(i), Integer.MIN_VALUE, Integer.MAX_VALUE)));
        }
        return out;
    }

    /** One integer or a list of them, as {@code eos_token_id}; empty when absent. */
    public List<Long> longs(String key) {
        JsonNode v = get(key);
        if (v == null) return List.of();
        if (!v.isArray()) return List.of(longInteger(key));
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) out.add(integerIn(key + "[" + i + "]", v.get(i), Long.MIN_VALUE, Long.MAX_VALUE));
        return out;
    }

    public List<String> strings(String key, List<String> dflt) {
        JsonNode v = get(key);
        if (v == null) return dflt;
        if (!v.isArray()) throw bad(key, "a list of strings");
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            if (!v.get(i).isTextual()) throw bad(key + "[" + i + "]", "a string", v.get(i));
            out.add(v.get(i).textValue());
        }
        return out;
    }

    /**
     * Refuses {@code key} set to anything but one of {@code supported} (absent or null is always
     * fine): settings this implementation does not have must fail loudly, not be ignored. Values
     * compare as Java values: strings, booleans, integers as Integer (Long beyond), other numbers as Double.
     */
    public void requireOneOf(String key, String what, Object... supported) {
        JsonNode v = get(key);
        if (v == null) return;
        Object actual = v.isTextual() ? v.textValue()
                : v.isBoolean() ? v.booleanValue()
                : v.isIntegralNumber() ? (v.canConvertToInt() ? (Object) v.intValue() : (Object) v.bigIntegerValue())
                : v.isNumber() ? v.doubleValue()
                : Json.typeName(v);
        for (Object s : supported) if (s != null && s.equals(actual)) return;
        throw new UnsupportedOperationException(where + ": " + prefix + key + " = " + actual + " is not supported yet (" + what + ")");
    }

    /** The error for a member of the wrong type or value. */
    public IllegalArgumentException bad(String key, String expected) {
        return bad(key, expected, get(key));
    }

    private IllegalArgumentException bad(String key, String expected, JsonNode got) {
        return new IllegalArgumentException(where + ": " + prefix + key + " must be " + expected
                + (got == null ? " (missing)" : ", got " + Json.brief(got)));
    }

    private JsonNode require(String key, String expected) {
        JsonNode v = get(key);
        if (v == null) throw bad(key, expected, null);
        return v;
    }

    /** An integral value in [min, max]; {@code 4.0} counts as 4. */
    private long integerIn(String key, JsonNode v, long min, long max) {
        boolean integral = v.isIntegralNumber() || (v.isFloatingPointNumber() && v.doubleValue() == Math.rint(v.doubleValue()));
        if (!integral) throw bad(key, "an integer", v);
        boolean fits = v.isIntegralNumber() ? v.canConvertToLong() && v.longValue() >= min && v.longValue() <= max
                : v.doubleValue() >= min && v.doubleValue() <= max;
        if (!fits) throw bad(key, "an integer between " + min + " and " + max, v);
        return v.isIntegralNumber() ? v.longValue() : (long) v.doubleValue();
    }
}
