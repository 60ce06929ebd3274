package org.lorascripts.text.clip;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.lorascripts.io.JsonReader;
import org.lorascripts.io.JsonValue;

/** The prompts and Hugging Face token ids of tools/fixtures/make_clip_tokenizer_fixture.py. */
record ClipReferenceCases(String madeBy, List<Case> cases) {
    static final String RESOURCE = "/fixtures/clip-tokenizer/reference.json";

    record Case(String text, int[] ids, int[] modelEos, int[] modelZero, String decoded,
                int[][] chunks150Eos, int[][] chunks150Zero, int[][] chunks225Eos, int[][] chunks225Zero) {}

    static ClipReferenceCases load() throws IOException {
        JsonValue.Obj root;
        try (InputStream in = ClipReferenceCases.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IOException("missing test resource " + RESOURCE);
            root = (JsonValue.Obj) JsonReader.parse(in.readAllBytes());
        }
        List<Case> cases = new ArrayList<>();
        for (JsonValue v : ((JsonValue.Arr) root.get("cases")).items()) {
            JsonValue.Obj c = (JsonValue.Obj) v;
            cases.add(new Case(str(c, "text"), ints(c.get("ids")), ints(c.get("model_eos")), ints(c.get("model_zero")),
                    str(c, "decoded"), rows(c.get("chunks150_eos")), rows(c.get("chunks150_zero")),
                    rows(c.get("chunks225_eos")), rows(c.get("chunks225_zero"))));
        }
        return new ClipReferenceCases(str(root, "made_by"), cases);
    }

    private static String str(JsonValue.Obj o, String key) {
        return ((JsonValue.Str) o.get(key)).value();
    }

    private static int[] ints(JsonValue v) {
        List<JsonValue> items = ((JsonValue.Arr) v).items();
        int[] out = new int[items.size()];
        for (int i = 0; i < out.length; i++) out[i] = Math.toIntExact(((JsonValue.Int) items.get(i)).value());
        return out;
    }

    private static int[][] rows(JsonValue v) {
        List<JsonValue> items = ((JsonValue.Arr) v).items();
        int[][] out = new int[items.size()][];
        for (int i = 0; i < out.length; i++) out[i] = ints(items.get(i));
        return out;
    }
}
