package org.lorascripts.text.clip;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.lorascripts.io.Json;

/** The prompts and Hugging Face token ids of tools/fixtures/make_clip_tokenizer_fixture.py (keys in snake case). */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
record ClipReferenceCases(String madeBy, List<Case> cases) {
    static final String RESOURCE = "/fixtures/clip-tokenizer/reference.json";

    @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
    record Case(String text, int[] ids, int[] modelEos, int[] modelZero, String decoded,
                int[][] chunks150Eos, int[][] chunks150Zero, int[][] chunks225Eos, int[][] chunks225Zero) {}

    static ClipReferenceCases load() throws IOException {
        try (InputStream in = ClipReferenceCases.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IOException("missing test resource " + RESOURCE);
            return Json.MAPPER.treeToValue(Json.parse(in.readAllBytes()), ClipReferenceCases.class);
        }
    }
}
