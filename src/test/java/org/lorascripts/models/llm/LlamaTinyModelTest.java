package org.lorascripts.models.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** The built-in tiny Llama: deterministic bytes, a loadable HF folder. */
class LlamaTinyModelTest {

    @Test
    void writesTheSameLoadableFolderEveryTime(@TempDir Path tmp) throws Exception {
        TinyLlama.writeModel(tmp.resolve("a"), 256);
        TinyLlama.writeModel(tmp.resolve("b"), 256);
        assertArrayEquals(Files.readAllBytes(tmp.resolve("a/model.safetensors")), Files.readAllBytes(tmp.resolve("b/model.safetensors")));
        assertEquals(-1, Files.mismatch(tmp.resolve("a/config.json"), tmp.resolve("b/config.json")));
        LlmConfig c = LlmConfig.read(tmp.resolve("a"));
        assertEquals(256, c.vocabSize());
        assertEquals(64, c.hiddenSize());
        assertEquals(2, c.numLayers());
        assertEquals(4, c.numHeads());
        assertEquals(2, c.numKvHeads());
        assertEquals(128, c.intermediateSize());
        assertEquals(10000.0, c.rope().theta());
        try (Scope s = Scope.open(); var ng = Autograd.noGrad(); LlamaForCausalLM m = LlamaForCausalLM.load(tmp.resolve("a"), Device.CPU, DType.F32)) {
            Tensor logits = m.logits(Torch.of(new long[] {1, 2, 3, 4}, 1, 4), null, null);
            assertArrayEquals(new long[] {1, 4, 256}, logits.shape());
            assertTrue(Double.isFinite(logits.abs().amax().item()));
            assertEquals(2 * 7 + 1, m.loraHosts().size(), "lm_head is untied");
        }
    }
}
