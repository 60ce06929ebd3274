package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Typed member reads with errors naming the file and the key. */
class JsonFieldsTest {
    private static JsonFields fields(String json) throws Json.Malformed {
        return JsonFields.of(Json.parse(json), "config.json");
    }

    private static String error(Executable read) {
        return assertThrows(IllegalArgumentException.class, read).getMessage();
    }

    @Test
    void readsTypedValuesWithDefaults() throws Exception {
        JsonFields f = fields("{\"i\": 7, \"f\": 4.0, \"d\": 1e-5, \"b\": true, \"s\": \"silu\", \"n\": null, \"l\": [1, 2], \"big\": 5000000000}");
        assertEquals(7, f.integer("i"));
        assertEquals(4, f.integer("f"), "an integral float is that integer");
        assertEquals(1e-5, f.number("d"));
        assertEquals(7.0, f.number("i"));
        assertTrue(f.bool("b", false));
        assertEquals("silu", f.string("s", null));
        assertEquals(3, f.integer("n", 3), "null reads as absent");
        assertFalse(f.has("n"));
        assertEquals(9, f.integer("absent", 9));
        assertEquals(5_000_000_000L, f.longInteger("big"));
        assertNull(f.optLong("absent"));
        assertEquals(List.of(1, 2), f.integers("l", 4, null));
        assertEquals(List.of(7, 7, 7), f.integers("i", 3, null), "one integer stands for every block");
        assertEquals(List.of(1L, 2L), f.longs("l"));
        assertEquals(List.of(7L), f.longs("i"));
        assertEquals(List.of(), f.longs("absent"));
    }

    @Test
    void wrongTypesNameTheFileTheKeyAndTheValue() throws Exception {
        JsonFields f = fields("{\"hidden_size\": \"abc\", \"eps\": [1], \"flag\": 1, \"act\": 2, \"l\": [1, \"a\"], \"names\": [\"a\", 2],"
                + " \"rope_scaling\": {\"factor\": \"x\"}}");
        assertEquals("config.json: hidden_size must be an integer, got \"abc\"", error(() -> f.integer("hidden_size")));
        assertEquals("config.json: eps must be a number, got [1]", error(() -> f.number("eps", 1)));
        assertEquals("config.json: flag must be true or false, got 1", error(() -> f.bool("flag", false)));
        assertEquals("config.json: act must be a string, got 2", error(() -> f.string("act", "silu")));
        assertEquals("config.json: l[1] must be an integer, got \"a\"", error(() -> f.integers("l", 1, null)));
        assertEquals("config.json: names[1] must be a string, got 2", error(() -> f.strings("names", null)));
        assertEquals("config.json: missing must be an integer (missing)", error(() -> f.integer("missing")));
        assertEquals("config.json: rope_scaling.factor must be a number, got \"x\"", error(() -> f.object("rope_scaling").number("factor")));
        assertEquals("config.json: hidden_size must be an object, got \"abc\"", error(() -> f.object("hidden_size")));
        assertEquals("config.json: expected a JSON object, found array", error(() -> JsonFields.of(Json.parse("[]"), "config.json")));
    }

    @Test
    void integersThatDoNotFitAreErrorsNotWrappedValues() throws Exception {
        JsonFields f = fields("{\"a\": 3000000000, \"b\": 99999999999999999999, \"c\": 2.5, \"d\": 1e300}");
        assertEquals("config.json: a must be an integer between -2147483648 and 2147483647, got 3000000000", error(() -> f.integer("a")));
        assertEquals(3_000_000_000L, f.longInteger("a"));
        assertEquals("config.json: b must be an integer between -9223372036854775808 and 9223372036854775807, got 99999999999999999999",
                error(() -> f.longInteger("b")));
        assertEquals("config.json: c must be an integer, got 2.5", error(() -> f.integer("c")));
        assertEquals("config.json: d must be an integer between -2147483648 and 2147483647, got 1.0E300", error(() -> f.integer("d")));
    }

    @Test
    void unsupportedSettingsFailLoudly() throws Exception {
        JsonFields f = fields("{\"act_fn\": \"gelu\", \"scale\": 1, \"half\": 1.0, \"flip\": true, \"n\": null}");
        f.requireOneOf("scale", "scale", 1, 1.0);
        f.requireOneOf("half", "scale", 1, 1.0);
        f.requireOneOf("flip", "order", true);
        f.requireOneOf("n", "anything");
        f.requireOneOf("absent", "anything");
        var e = assertThrows(UnsupportedOperationException.class, () -> f.requireOneOf("act_fn", "activation", "silu"));
        assertEquals("config.json: act_fn = gelu is not supported yet (activation)", e.getMessage());
    }
}
