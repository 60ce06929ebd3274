package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.TinyLlama;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** PEFT adapter folders: exact key names and shapes, config fields, round trip, foreign spellings. */
class PeftAdapterTest {
    private static final List<String> QKVO = List.of("q_proj", "k_proj", "v_proj", "o_proj");

    static LlamaForCausalLM tiny() {
        return new LlamaForCausalLM(TinyLlama.config(100), new RandomWeights(TinyLlama.SEED), Device.CPU, DType.F32);
    }

    static LoraNetwork injectRandom(LlamaForCausalLM m, List<String> targets, LoraSpec spec, long seed) {
        Rng.manualSeed(seed);
        LoraNetwork net = LoraNetwork.inject(m.loraHosts(), PeftTargets.select(targets, null, null, "lm_head"), spec, Device.CPU);
        for (LoraAdapter a : net.adapters().values()) {
            try (Tensor u = a.up().detach()) { u.normal_(0, 0.1); }
        }
        return net;
    }

    @Test
    void keysShapesAndConfigAreWhatPeftWrites(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("adapter");
        try (Scope s = Scope.open(); LlamaForCausalLM m = tiny(); LoraNetwork net = injectRandom(m, QKVO, LoraSpec.of(4, 8), 1)) {
            PeftAdapterWriter.write(dir, net, "tiny-llama", 0.05, false, DType.F32);
        }
        try (Stream<Path> files = Files.list(dir); Stream<Path> siblings = Files.list(tmp)) {
            assertEquals(List.of("adapter_config.json", "adapter_model.safetensors"), files.map(p -> p.getFileName().toString()).sorted().toList());
            assertEquals(1, siblings.count(), "no temporary folders left");
        }
        Map<String, List<Long>> want = new TreeMap<>();
        for (int layer = 0; layer < 2; layer++) {
            for (String p : QKVO) {
                long out = p.equals("k_proj") || p.equals("v_proj") ? 32 : 64;   // 2 kv heads x head_dim 16
                String module = "base_model.model.model.layers." + layer + ".self_attn." + p;
                want.put(module + ".lora_A.weight", List.of(4L, 64L));
                want.put(module + ".lora_B.weight", List.of(out, 4L));
            }
        }
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("adapter_model.safetensors"))) {
            Map<String, List<Long>> got = new TreeMap<>();
            for (String n : f.names()) {
                got.put(n, java.util.Arrays.stream(f.info(n).shape()).boxed().toList());
                assertEquals(DType.F32, f.info(n).dtype());
            }
            assertEquals(want, got);
            assertEquals("pt", f.metadata().get("format"));
        }
        var c = Json.readObject(dir.resolve("adapter_config.json"));
        // compared as the JSON text: "r": 4 must stay an integer and lora_alpha 8, not 8.0, as PEFT writes them
        assertEquals("\"LORA\"", c.get("peft_type").toString());
        assertEquals("\"CAUSAL_LM\"", c.get("task_type").toString());
        assertEquals("4", c.get("r").toString());
        assertEquals("8", c.get("lora_alpha").toString());
        assertEquals("0.05", c.get("lora_dropout").toString());
        assertEquals(Json.array("k_proj", "o_proj", "q_proj", "v_proj"), c.get("target_modules"));
        assertEquals("\"none\"", c.get("bias").toString());
        assertEquals("false", c.get("use_rslora").toString());
        assertEquals("false", c.get("fan_in_fan_out").toString());
        assertEquals("true", c.get("inference_mode").toString());
        assertEquals("true", c.get("init_lora_weights").toString());
        assertEquals("false", c.get("use_dora").toString());
        assertEquals("\"tiny-llama\"", c.get("base_model_name_or_path").toString());
        for (String k : List.of("modules_to_save", "layers_to_transform", "revision")) assertTrue(c.get(k).isNull(), k);
        assertEquals(Json.object(), c.get("rank_pattern"));
        List<String> keys = new java.util.ArrayList<>();
        c.fieldNames().forEachRemaining(keys::add);
        assertEquals(keys.stream().sorted().toList(), keys, "keys sorted as PEFT's json.dumps(sort_keys=True)");
    }

    @Test
    void roundTripGivesTheSameWeightsAndLogits(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("adapter");
        try (Scope s = Scope.open(); var ng = Autograd.noGrad(); LlamaForCausalLM m = tiny()) {
            Tensor ids = Torch.of(new long[] {1, 5, 9, 42, 7, 3, 99, 12}, 1, 8);
            Tensor base = m.logits(ids, null, null);
            Map<String, double[]> saved = new TreeMap<>();
            Tensor adapted;
            try (LoraNetwork net = injectRandom(m, List.of(PeftTargets.ALL_LINEAR), new LoraSpec(8, 16, 0, 0, 0, true), 2)) {
                assertEquals(14, net.size(), "all-linear: 7 per layer, lm_head excluded");
                adapted = m.logits(ids, null, null);
                for (var e : net.adapters().entrySet()) saved.put(e.getKey(), e.getValue().up().toDoubleArray());
                PeftAdapterWriter.write(dir, net, "tiny", 0, true, DType.F32);
                // written again over the old folder: replaced whole
                PeftAdapterWriter.write(dir, net, "tiny", 0, true, DType.F32);
            }
            assertTrue(TensorDiff.maxAbsDiff(base, m.logits(ids, null, null)) < 1e-7, "closing the network detaches it");
            var c = Json.readObject(dir.resolve("adapter_config.json"));
            assertTrue(c.get("use_rslora").booleanValue());
            assertEquals(7, c.get("target_modules").size());
            try (LoraNetwork back = PeftAdapterReader.attach(dir, m.loraHosts(), Device.CPU)) {
                assertEquals(14, back.size());
                LoraAdapter q = back.adapters().get("model.layers.1.self_attn.q_proj");
                assertEquals(16 / Math.sqrt(8), q.scale(), 1e-12);
                for (var e : back.adapters().entrySet()) assertArrayEquals(saved.get(e.getKey()), e.getValue().up().toDoubleArray(), 0);
                assertTrue(back.adapters().get("model.layers.0.mlp.down_proj").down().requiresGrad(), "loaded adapters can train on");
                double d = TensorDiff.maxAbsDiff(adapted, m.logits(ids, null, null));
                assertTrue(d < 1e-6, "logits after reload differ by " + d);
            }
        }
    }

    @Test
    void readsKeysWithAdapterNameAndRejectsMismatches(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("foreign");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("adapter_config.json"), """
                {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj"], "use_rslora": false,
                 "alpha_pattern": {"layers\\\\.1\\\\.self_attn\\\\.q_proj": 8}}""");
        try (Scope s = Scope.open(); var ng = Autograd.noGrad(); LlamaForCausalLM m = tiny()) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (int layer = 0; layer < 2; layer++) {
                String p = "base_model.model.model.layers." + layer + ".self_attn.q_proj";
                TensorIO.add(w, p + ".lora_A.default.weight", Torch.randn(2, 64), DType.BF16);
                TensorIO.add(w, p + ".lora_B.default.weight", Torch.randn(64, 2), DType.BF16);
            }
            w.write(dir.resolve("adapter_model.safetensors"));
            try (LoraNetwork net = PeftAdapterReader.attach(dir, m.loraHosts(), Device.CPU)) {
                assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"), List.copyOf(net.adapters().keySet()));
                assertEquals(2.0, net.adapters().get("model.layers.0.self_attn.q_proj").scale());
                assertEquals(4.0, net.adapters().get("model.layers.1.self_attn.q_proj").scale(), "alpha_pattern applies");
                assertEquals(DType.F32, net.adapters().get("model.layers.0.self_attn.q_proj").down().dtype());
            }
            // the same adapter against a model whose q_proj has another width
            try (LlamaForCausalLM other = new LlamaForCausalLM(org.lorascripts.models.llm.LlmConfig.llama(100, 32, 64, 2, 4, 2, 10000),
                    new RandomWeights(1), Device.CPU, DType.F32)) {
                var e = assertThrows(IllegalArgumentException.class, () -> PeftAdapterReader.attach(dir, other.loraHosts(), Device.CPU));
                assertTrue(e.getMessage().contains("do not fit"), e.getMessage());
            }
        }
        // a DoRA config needs a magnitude vector per module (PeftDoraParityTest reads real DoRA adapters)
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"use_dora\": true}");
        var dora = assertThrows(java.io.IOException.class, () -> PeftAdapterReader.read(dir));
        assertTrue(dora.getMessage().contains("has no lora_magnitude_vector, but the adapter is a DoRA (use_dora)"), dora.getMessage());
    }

    @Test
    void targetSelectionFollowsPeft() {
        var hosts = List.of("model.layers.0.self_attn.q_proj", "model.layers.0.mlp.up_proj", "model.layers.1.self_attn.q_proj", "lm_head");
        assertEquals(List.of("model.layers.0.self_attn.q_proj", "model.layers.1.self_attn.q_proj"),
                hosts.stream().filter(PeftTargets.select(List.of("q_proj"), null, null, "lm_head")).toList());
        assertEquals(hosts.subList(0, 3), hosts.stream().filter(PeftTargets.select(List.of("all-linear"), null, null, "lm_head")).toList());
        assertEquals(List.of("model.layers.1.self_attn.q_proj"),
                hosts.stream().filter(PeftTargets.select(List.of("q_proj"), null, List.of(1), "lm_head")).toList());
        assertEquals(List.of("model.layers.0.mlp.up_proj"),
                hosts.stream().filter(PeftTargets.select(null, ".*\\.0\\.mlp\\..*", null, "lm_head")).toList());
        assertFalse(PeftTargets.select(List.of("proj"), null, null, "lm_head").test("model.layers.0.self_attn.q_proj"), "suffix matches whole names only");
        assertEquals(List.of("q_proj", "up_proj"), PeftTargets.shortNames(hosts.subList(0, 3)));
    }
}
