package org.lorascripts.models.sd.load;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.lorascripts.io.JsonValue;

/** Typed reads from a diffusers / transformers {@code config.json} object, with the file named in errors. */
public final class ConfigJson {
    private final JsonValue.Obj obj;
    private final String file;

    public ConfigJson(JsonValue v, String file) {
        if (!(v instanceof JsonValue.Obj o)) throw new IllegalArgumentException(file + ": expected a JSON object, found " + v.typeName());
        this.obj = o;
        this.file = file;
    }

    public boolean has(String key) {
        JsonValue v = obj.get(key);
        return v != null && v != JsonValue.Null.INSTANCE;
    }

    public int integer(String key, int dflt) {
        JsonValue v = obj.get(key);
        if (v == null || v == JsonValue.Null.INSTANCE) return dflt;
        if (v instanceof JsonValue.Int i) return Math.toIntExact(i.value());
        if (v instanceof JsonValue.Dec d && d.value() == Math.rint(d.value())) return (int) d.value();
        throw bad(key, "an integer", v);
    }

    public double number(String key, double dflt) {
        JsonValue v = obj.get(key);
        if (v == null || v == JsonValue.Null.INSTANCE) return dflt;
        if (v instanceof JsonValue.Int i) return i.value();
        if (v instanceof JsonValue.Dec d) return d.value();
        throw bad(key, "a number", v);
    }

    public boolean bool(String key, boolean dflt) {
        JsonValue v = obj.get(key);
        if (v == null || v == JsonValue.Null.INSTANCE) return dflt;
        if (v instanceof JsonValue.Bool b) return b.value();
        throw bad(key, "true or false", v);
    }

    public String string(String key, String dflt) {
        JsonValue v = obj.get(key);
        if (v == null || v == JsonValue.Null.INSTANCE) return dflt;
        if (v instanceof JsonValue.Str s) return s.value();
        throw bad(key, "a string", v);
    }

    /** An integer list; a single integer is repeated {@code n} times (diffusers' convention). */
    public List<Integer> integers(String key, int n, List<Integer> dflt) {
        JsonValue v = obj.get(key);
        if (v == null || v == JsonValue.Null.INSTANCE) return dflt;
        if (v instanceof JsonValue.Int i) {
            List<Integer> r = new ArrayList<>();
            for (int k = 0; k < n; k++) r.add(Math.toIntExact(i.value()));
            return r;
        }
        if (v instanceof JsonValue.Arr a) {
            List<Integer> r = new ArrayList<>();
            for (JsonValue e : a.items()) {
                if (!(e instanceof JsonValue.Int i)) throw bad(key, "a list of integers", v);
                r.add(Math.toIntExact(i.value()));
            }
            return r;
        }
        throw bad(key, "an integer or a list of integers", v);
    }

    public List<String> strings(String key, List<String> dflt) {
        JsonValue v = obj.get(key);
        if (v == null || v == JsonValue.Null.INSTANCE) return dflt;
        if (v instanceof JsonValue.Arr a) {
            List<String> r = new ArrayList<>();
            for (JsonValue e : a.items()) {
                if (!(e instanceof JsonValue.Str s)) throw bad(key, "a list of strings", v);
                r.add(s.value());
            }
            return r;
        }
        throw bad(key, "a list of strings", v);
    }

    /** Fails when {@code key} is set to anything other than the values this implementation supports. */
    public void require(String key, String what, Object... supported) {
        JsonValue v = obj.get(key);
        Object actual = switch (v) {
            case null -> null;
            case JsonValue.Null n -> null;
            case JsonValue.Str s -> s.value();
            case JsonValue.Bool b -> b.value();
            case JsonValue.Int i -> (int) i.value();
            case JsonValue.Dec d -> d.value();
            default -> v.typeName();
        };
        if (actual == null) return;
        for (Object s : supported) if (s != null && s.equals(actual)) return;
        throw new UnsupportedOperationException(file + ": " + key + " = " + actual + " is not supported yet (" + what + ")");
    }

    private IllegalArgumentException bad(String key, String expected, JsonValue v) {
        return new IllegalArgumentException(file + ": \"" + key + "\" must be " + expected + ", found " + v.typeName().toLowerCase(Locale.ROOT));
    }

    String file() { return file; }
}
