package org.lorascripts.models.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.lorascripts.io.Json;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/** config.json reading (both RoPE spellings, model types, eos lists) and the RoPE frequencies. */
class RopeAndConfigTest {
    private static final String BASE = """
            "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
            "num_key_value_heads": 2, "vocab_size": 300, "rms_norm_eps": 1e-5, "max_position_embeddings": 128""";

    private static LlmConfig parse(String extra) throws Exception {
        return LlmConfig.parse(Json.parse("{" + BASE + (extra.isEmpty() ? "" : ", " + extra) + "}"), "config.json");
    }

    @Test
    void classicAndRopeParametersFormsAgree() throws Exception {
        LlmConfig classic = parse("""
                "model_type": "llama", "rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
                "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32}""");
        LlmConfig v5 = parse("""
                "model_type": "llama", "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32}""");
        assertEquals(classic.rope(), v5.rope());
        assertEquals(new LlmConfig.Rope("llama3", 500000, 8, 1, 4, 32), v5.rope());
        LlmConfig old = parse("\"model_type\": \"llama\", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}");
        assertEquals("linear", old.rope().type());
        assertEquals(10000.0, old.rope().theta());
        assertEquals("default", parse("\"model_type\": \"llama\", \"rope_scaling\": null").rope().type());
    }

    @Test
    void unsupportedThingsFailClearly() {
        var e = assertThrows(IllegalArgumentException.class, () -> parse("\"model_type\": \"gemma\""));
        assertTrue(e.getMessage().contains("'gemma'") && e.getMessage().contains("llama, mistral, qwen2"), e.getMessage());
        var d = assertThrows(IllegalArgumentException.class, () -> parse("\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 2.0}"));
        assertTrue(d.getMessage().contains("'dynamic'") && d.getMessage().contains("not supported yet"), d.getMessage());
    }

    @Test
    void modelTypeSwitches() throws Exception {
        LlmConfig q = parse("\"model_type\": \"qwen2\", \"tie_word_embeddings\": true, \"eos_token_id\": [151643, 151645], \"sliding_window\": 4096, \"use_sliding_window\": false");
        assertTrue(q.qkvBias());
        assertFalse(q.oProjBias());
        assertTrue(q.tieWordEmbeddings());
        assertArrayEquals(new long[] {151643, 151645}, q.eosTokenIds());
        assertTrue(q.isEos(151645));
        assertArrayEquals(new int[] {0, 0}, q.layerWindows());
        LlmConfig mistral = parse("\"model_type\": \"mistral\", \"sliding_window\": 4096, \"head_dim\": 16");
        assertArrayEquals(new int[] {4096, 4096}, mistral.layerWindows());
        assertEquals(16, mistral.headDim());
        assertFalse(mistral.qkvBias());
        LlmConfig llama = parse("\"model_type\": \"llama\", \"attention_bias\": true");
        assertTrue(llama.qkvBias() && llama.oProjBias());
        assertEquals(8, llama.headDim());
        assertEquals(2, llama.kvGroups());
    }

    @Test
    void configJsonRoundTrips() throws Exception {
        LlmConfig c = LlmConfig.read(LlmFixtures.dir("llama3"));
        LlmConfig back = LlmConfig.parse(c.toJson(), "written");
        assertEquals(c.rope(), back.rope());
        assertEquals(c.headDim(), back.headDim());
        assertEquals(c.numKvHeads(), back.numKvHeads());
        assertArrayEquals(c.eosTokenIds(), back.eosTokenIds());
    }

    @Test
    void llama3FrequenciesFollowTheReferenceFormula() {
        LlmConfig.Rope r = new LlmConfig.Rope("llama3", 500000, 8, 1, 4, 32);
        int dim = 16;
        try (Scope s = Scope.open()) {
            float[] got = RotaryEmbedding.inverseFrequencies(r, dim).toFloatArray();
            int scaledDown = 0, kept = 0, blended = 0;
            for (int i = 0; i < dim / 2; i++) {
                double inv = 1 / Math.pow(500000, 2.0 * i / dim);
                double wavelen = 2 * Math.PI / inv;
                double want;
                if (wavelen < 32 / 4.0) { want = inv; kept++; }
                else if (wavelen > 32 / 1.0) { want = inv / 8; scaledDown++; }
                else {
                    double smooth = (32 / wavelen - 1) / (4 - 1);
                    want = (1 - smooth) * inv / 8 + smooth * inv;
                    blended++;
                }
                assertEquals(want, got[i], 1e-6 * want, "inv_freq[" + i + "]");
            }
            assertTrue(kept > 0 && scaledDown > 0, "the test covers both ends: kept " + kept + ", scaled " + scaledDown + ", blended " + blended);
            Tensor lin = RotaryEmbedding.inverseFrequencies(new LlmConfig.Rope("linear", 10000, 4, 0, 0, 0), 8);
            assertEquals(0.25, lin.toFloatArray()[0], 1e-7);
        }
    }
}
