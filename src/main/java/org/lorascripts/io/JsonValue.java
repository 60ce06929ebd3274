package org.lorascripts.io;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A parsed JSON value. Objects keep insertion order so that what is read and written back
 * (config.json, adapter_config.json, safetensors headers) keeps a deterministic key order.
 * Integers that fit a {@code long} are {@link Int}; every other number is {@link Dec}.
 *
 * @deprecated to be removed once the safetensors/metrics readers move to io.Json; new code uses
 *             {@link Json} and {@link JsonFields}. Kept only for the safetensors header/index, the trainer state and the memory estimate,
 *             which other changes are editing now.
 */
@Deprecated
public sealed interface JsonValue {

    record Obj(Map<String, JsonValue> members) implements JsonValue {
        public Obj {
            members = Collections.unmodifiableMap(new LinkedHashMap<>(members));
        }

        /** The member, or null when absent. */
        public JsonValue get(String key) {
            return members.get(key);
        }
    }

    record Arr(List<JsonValue> items) implements JsonValue {
        public Arr {
            items = List.copyOf(items);
        }
    }

    record Str(String value) implements JsonValue {
        public Str {
            if (value == null) throw new IllegalArgumentException("JSON string value is null; use JsonValue.Null.INSTANCE");
        }
    }

    record Int(long value) implements JsonValue {}

    record Dec(double value) implements JsonValue {
        public Dec {
            // JSON has no spelling for these; failing here beats writing a file no parser accepts.
            if (!Double.isFinite(value)) throw new IllegalArgumentException("JSON cannot represent the number " + value);
        }
    }

    record Bool(boolean value) implements JsonValue {}

    enum Null implements JsonValue { INSTANCE }

    /** "object", "array", "string", "integer", "number", "boolean" or "null", for error messages. */
    default String typeName() {
        return switch (this) {
            case Obj o -> "object";
            case Arr a -> "array";
            case Str s -> "string";
            case Int i -> "integer";
            case Dec d -> "number";
            case Bool b -> "boolean";
            case Null n -> "null";
        };
    }

    static JsonValue of(String s) { return new Str(s); }

    static JsonValue of(long v) { return new Int(v); }

    static JsonValue of(double v) { return new Dec(v); }

    static JsonValue of(boolean v) { return new Bool(v); }
}
