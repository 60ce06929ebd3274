package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonWriterTest {

    private static JsonValue sample() {
        Map<String, JsonValue> m = new LinkedHashMap<>();
        m.put("z", JsonValue.of("é \"q\" \\ \n\t\u0001\u001f 😀"));
        m.put("a", new JsonValue.Arr(List.of(JsonValue.of(1), JsonValue.of(-2.5), JsonValue.of(true), JsonValue.Null.INSTANCE)));
        m.put("e", new JsonValue.Obj(Map.of()));
        m.put("l", new JsonValue.Arr(List.of()));
        return new JsonValue.Obj(m);
    }

    @Test
    void compactKeepsInsertionOrderAndEscapesLikeSerdeJson() {
        assertEquals("{\"z\":\"é \\\"q\\\" \\\\ \\n\\t\\u0001\\u001f 😀\",\"a\":[1,-2.5,true,null],\"e\":{},\"l\":[]}",
                JsonWriter.write(sample()));
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
                }""", JsonWriter.writePretty(sample()));
    }

    @Test
    void roundTrips() throws Exception {
        assertEquals(sample(), JsonReader.parse(JsonWriter.write(sample())));
        assertEquals(sample(), JsonReader.parse(JsonWriter.writePretty(sample())));
        assertEquals(sample(), JsonReader.parse(JsonWriter.writeUtf8(sample())));
    }

    @Test
    void rejectsNumbersJsonCannotSpell() {
        assertEquals("JSON cannot represent the number NaN",
                assertThrows(IllegalArgumentException.class, () -> JsonValue.of(Double.NaN)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> JsonValue.of(Double.POSITIVE_INFINITY));
    }
}
