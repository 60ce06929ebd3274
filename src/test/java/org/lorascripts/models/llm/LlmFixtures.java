package org.lorascripts.models.llm;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.Tensor;

/** The tiny HF reference models under src/test/resources/fixtures/hf (made by tools/fixtures/make_hf_model_fixtures.py). */
final class LlmFixtures {
    private LlmFixtures() {}

    static Path dir(String name) {
        try {
            return Path.of(LlmFixtures.class.getResource("/fixtures/hf/" + name + "/config.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A tensor of expected.safetensors (input_ids, logits, labels, loss). */
    static Tensor expected(String name, String tensor) throws IOException {
        try (SafetensorsFile f = SafetensorsFile.open(dir(name).resolve("expected.safetensors"))) {
            return TensorIO.read(f, tensor);
        }
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        try (Tensor d = a.sub(b); Tensor ad = d.abs(); Tensor m = ad.amax()) {
            return m.item();
        }
    }
}
