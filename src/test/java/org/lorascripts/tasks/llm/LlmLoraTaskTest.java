package org.lorascripts.tasks.llm;

import org.lorascripts.demo.TinyLlamaPretrainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.TaskType;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.PeftAdapterReader;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.train.LoopTrainer;
import org.lorascripts.train.SampleSink;
import org.lorascripts.tasks.Trainers;
import org.lorascripts.train.TrainingResult;
import org.lorascripts.models.llm.Generator;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.LlmConfig;
import org.lorascripts.models.llm.TinyLlamaBuiltin;

/** The text LoRA task on builtin:tiny-llama: learning, PEFT export and reload, generation, samples. */
class LlmLoraTaskTest {
    @TempDir Path dir;

    private LlmLoraFixture fixture(String name) throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        return new LlmLoraFixture(dir.resolve(name), data);
    }

    @Test void textGenerationIsRegistered() {
        Trainers.reset();
        assertInstanceOf(LoopTrainer.class, Trainers.forTask(TaskType.TEXT_GENERATION).orElseThrow());
    }

    @Test void theBuiltinFolderIsCompleteAndItsSpecialIdsAreTheTokenizers() throws Exception {
        Path d = TinyLlamaBuiltin.ensureCached();
        assertEquals(d, TinyLlamaBuiltin.ensureCached(), "cached");
        LlmConfig cfg = LlmConfig.read(d);
        try (var tok = org.lorascripts.text.HfTokenizer.load(d)) {
            assertEquals(tok.bosId().getAsLong(), cfg.bosTokenId());
            assertArrayEquals(new long[] {tok.eosId()}, cfg.eosTokenIds());
            assertArrayEquals(new long[] {tok.eosId()}, tok.stopIds(), "no byte symbol is a stop token");
            assertEquals(cfg.vocabSize() - 1, tok.encode("<|eot_id|>")[0], "the last special token is the last embedding row");
        }
        assertEquals(TinyLlamaPretrainer.LAYERS, cfg.numLayers());
        assertEquals(TinyLlamaPretrainer.HIDDEN, cfg.hiddenSize());
    }

    @Test void lossFallsAndValidationReportsPerplexity() throws Exception {
        LlmLoraFixture f = fixture("out").set("epochs", 8).set("learning_rate", 3e-3).set("val_ratio", 0.25)
                .set("target_modules", List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "lm_head"));
        try (LlmLoraTask task = f.task()) {
            assertTrue(task.reportsPerplexity());
            assertEquals(6, task.trainSize());
            assertEquals(2, task.valSize());
            TrainingResult r = f.run(task);
            assertEquals(24, r.steps());
        }
        double[] l = f.losses();
        double first = (l[0] + l[1] + l[2]) / 3, last = (l[l.length - 1] + l[l.length - 2] + l[l.length - 3]) / 3;
        System.out.printf("tiny-llama LoRA: loss %.4f -> %.4f over %d steps%n", first, last, l.length);
        assertTrue(last < first - 0.3, "loss " + first + " -> " + last);
        assertTrue(f.vals.size() >= 2, "validated each epoch");
        String metrics = Files.readString(f.outputDir.resolve("logs/metrics.jsonl"));
        assertTrue(metrics.contains("\"val/perplexity\""), metrics);
    }

    /**
     * Per-layer checkpointing and the recomputed attention (recompute_attention) run parts of the layers again in
     * backward (dropout included) and change no number.
     */
    @Test void gradientCheckpointingTrainsTheSameSteps() throws Exception {
        double[][] losses = new double[3][];
        double[][] weights = new double[3][];
        for (int i = 0; i < 3; i++) {
            LlmLoraFixture f = fixture("out" + i).set("gradient_checkpointing", i == 1).set("recompute_attention", i == 2)
                    .set("lora_dropout", 0.1).set("max_steps", 4).set("learning_rate", 3e-3);
            try (LlmLoraTask task = f.task(DType.F64)) {
                assertEquals(i == 2, task.model().attentionRecompute(), "recompute_attention reaches the model");
                f.run(task);
                losses[i] = f.losses();
                weights[i] = LlmLoraFixture.weights(task);
            }
        }
        for (int i = 1; i < 3; i++) {
            assertArrayEquals(losses[0], losses[i], 1e-9);
            assertArrayEquals(weights[0], weights[i], 1e-9);
        }
    }

    @Test void peftKeysShapesAndConfigForAllLinear() throws Exception {
        LlmLoraFixture f = fixture("out").set("target_modules", List.of("all-linear")).set("lora_rank", 4).set("lora_alpha", 8)
                .set("lora_dropout", 0.1).set("save_precision", "fp16");
        Path out = dir.resolve("adapter");
        try (LlmLoraTask task = f.task()) {
            assertEquals("adapter", task.adapterFileName("adapter"));
            task.exportAdapter(out, Map.of());
        }
        long h = TinyLlamaPretrainer.HIDDEN, kv = TinyLlamaPretrainer.KV_HEADS * (TinyLlamaPretrainer.HIDDEN / TinyLlamaPretrainer.HEADS),
                m = TinyLlamaPretrainer.INTERMEDIATE;
        Map<String, long[]> want = new LinkedHashMap<>();
        for (int layer = 0; layer < TinyLlamaPretrainer.LAYERS; layer++) {
            String p = "base_model.model.model.layers." + layer + ".";
            Map<String, long[]> outIn = Map.of("self_attn.q_proj", new long[] {h, h}, "self_attn.k_proj", new long[] {kv, h},
                    "self_attn.v_proj", new long[] {kv, h}, "self_attn.o_proj", new long[] {h, h},
                    "mlp.gate_proj", new long[] {m, h}, "mlp.up_proj", new long[] {m, h}, "mlp.down_proj", new long[] {h, m});
            for (var e : outIn.entrySet()) {
                want.put(p + e.getKey() + ".lora_A.weight", new long[] {4, e.getValue()[1]});
                want.put(p + e.getKey() + ".lora_B.weight", new long[] {e.getValue()[0], 4});
            }
        }
        try (SafetensorsFile sf = SafetensorsFile.open(out.resolve("adapter_model.safetensors"))) {
            assertEquals(new TreeSet<>(want.keySet()), new TreeSet<>(sf.names()), "exactly the decoder's linear layers, no lm_head");
            for (String k : sf.names()) {
                TensorInfo info = sf.info(k);
                assertArrayEquals(want.get(k), info.shape(), k);
                assertEquals(DType.F16, info.dtype(), k);
            }
        }
        var cfg = Json.readObject(out.resolve("adapter_config.json"));
        assertEquals("4", cfg.get("r").toString());
        assertEquals("8", cfg.get("lora_alpha").toString());
        assertEquals(0.1, cfg.get("lora_dropout").doubleValue(), 1e-12);
        assertEquals("builtin:tiny-llama", cfg.get("base_model_name_or_path").textValue());
        assertEquals("CAUSAL_LM", cfg.get("task_type").textValue());
        assertEquals("LORA", cfg.get("peft_type").textValue());
        assertEquals(Json.node(false), cfg.get("use_rslora"));
        Set<String> targets = new TreeSet<>();
        for (var v : cfg.get("target_modules")) targets.add(v.textValue());
        assertEquals(Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), targets);
    }

    @Test void shortNamesAdaptOnlyThoseModulesAndRsLoraScales() throws Exception {
        LlmLoraFixture f = fixture("out").set("target_modules", List.of("q_proj", "v_proj")).set("use_rslora", true)
                .set("lora_rank", 4).set("lora_alpha", 8);
        try (LlmLoraTask task = f.task()) {
            assertEquals(2 * TinyLlamaPretrainer.LAYERS, task.adapters().size());
            assertTrue(task.adapters().keySet().stream().allMatch(k -> k.endsWith(".q_proj") || k.endsWith(".v_proj")));
            assertEquals(8 / Math.sqrt(4), task.adapters().values().iterator().next().scale(), 1e-12);
            assertEquals(4 * TinyLlamaPretrainer.LAYERS, task.trainableParameters().size());
            task.exportAdapter(dir.resolve("a"), Map.of());
        }
        assertEquals(Json.node(true), Json.readObject(dir.resolve("a/adapter_config.json")).get("use_rslora"));
    }

    @Test void theExportedAdapterReloadsToTheSameLogitsAndContinuesTraining() throws Exception {
        LlmLoraFixture f = fixture("out").set("epochs", 2).set("learning_rate", 3e-3).set("lora_dropout", 0.1);
        long[] ids = {1, 40, 50, 60, 70, 80, 90, 100};
        float[] trained;
        Map<String, List<Double>> trainedWeights;
        Path adapter;
        try (LlmLoraTask task = f.task()) {
            adapter = f.run(task).adapter();
            task.network().setTraining(false);
            trained = LlmLoraFixture.logits(task.model(), ids);
            trainedWeights = LlmLoraFixture.namedWeights(task);
        }
        Path base = TinyLlamaBuiltin.ensureCached();
        try (LlamaForCausalLM plain = LlamaForCausalLM.load(base, Device.CPU, DType.F32)) {
            float[] baseLogits = LlmLoraFixture.logits(plain, ids);
            assertTrue(LlmLoraFixture.maxAbsDiff(baseLogits, trained) > 1e-3, "training changed the model");
            try (LoraNetwork net = PeftAdapterReader.attach(adapter, plain.loraHosts(), Device.CPU)) {
                double d = LlmLoraFixture.maxAbsDiff(trained, LlmLoraFixture.logits(plain, ids));
                System.out.printf("reloaded PEFT adapter vs trained model: logits max abs diff %.3g%n", d);
                assertTrue(d < 1e-5, "reloaded adapter differs by " + d);
            }
        }
        // network_weights continues from the file's weights, not from a fresh initialisation
        LlmLoraFixture next = fixture("next").set("network_weights", adapter.toString()).set("lora_rank", 16);
        try (LlmLoraTask task = next.task()) {
            assertEquals(trainedWeights, LlmLoraFixture.namedWeights(task));
            assertEquals(4, task.adapters().values().iterator().next().rank(), "the file's rank, not lora_rank");
        }
    }

    @Test void greedyGenerationIsDeterministicAndFollowsTheArgmax() throws Exception {
        LlmLoraFixture f = fixture("out").set("epochs", 1).set("learning_rate", 1e-2);
        try (LlmLoraTask task = f.task()) {
            f.run(task);
            task.network().setTraining(false);
            PromptCompleter c = new PromptCompleter(task.model(), task.tokenizer(), task.sampleChatFormat());
            var opts = Generator.Options.greedy(12);
            PromptCompleter.Completion a = c.complete("The quick", opts), b = c.complete("The quick", opts);
            assertArrayEquals(a.ids(), b.ids());
            assertEquals(a.text(), b.text());
            // the reference: recompute the whole prefix every step and take the argmax of the last position
            long[] seq = c.promptIds("The quick");
            assertEquals(task.tokenizer().bosId().getAsLong(), seq[0], "training examples start with BOS, so prompts do too");
            List<Long> expected = new ArrayList<>();
            for (int i = 0; i < a.ids().length; i++) {
                float[] lg = LlmLoraFixture.logits(task.model(), seq);
                int v = (int) task.model().config().vocabSize();
                int best = 0;
                for (int j = 1; j < v; j++) if (lg[lg.length - v + j] > lg[lg.length - v + best]) best = j;
                expected.add((long) best);
                seq = java.util.Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = best;
                if (task.tokenizer().isStop(best)) break;
            }
            assertArrayEquals(expected.stream().mapToLong(Long::longValue).toArray(), a.ids());
        }
    }

    @Test void samplesAreLoggedPerEvalPrompt() throws Exception {
        LlmLoraFixture f = fixture("out").set("epochs", 1).set("eval_prompts", List.of("Green tea", "Hello"));
        List<String> got = new ArrayList<>();
        try (LlmLoraTask task = f.task()) {
            assertEquals(org.lorascripts.text.ChatFormat.NONE, task.sampleChatFormat(), "plain text data: no chat markup");
            task.sample(3, new SampleSink() {
                @Override public void image(String tag, byte[] png, int w, int h) { throw new AssertionError("no images"); }

                @Override public void text(String tag, String text) { got.add(tag + "=" + text); }
            });
        }
        assertEquals(2, got.size());
        assertTrue(got.get(0).startsWith("sample/0=prompt: Green tea\nbase:   "), got.get(0));
        assertTrue(got.get(1).startsWith("sample/1=prompt: Hello\nbase:   "), got.get(1));
        assertTrue(got.get(1).contains("\nLoRA:   "), got.get(1));
        try (LlmLoraTask task = f.task()) {
            f.run(task);
        }
        try (var files = Files.list(f.outputDir.resolve("samples"))) {
            assertFalse(files.toList().isEmpty(), "the loop writes the samples");
        }
        String console = f.console();
        assertTrue(console.contains("eval prompts, the base model and with the LoRA (greedy):\n  Green tea\n    base: "), console);
        assertTrue(console.contains("\n    LoRA: "), console);
    }

    @Test void withoutBaseSamplesAreThePromptAndTheCompletion() throws Exception {
        LlmLoraFixture f = fixture("out").set("epochs", 1).set("eval_prompts", List.of("Hello")).set("sample_with_base", false);
        List<String> got = new ArrayList<>();
        try (LlmLoraTask task = f.task()) {
            task.sample(1, new SampleSink() {
                @Override public void image(String tag, byte[] png, int w, int h) { throw new AssertionError("no images"); }

                @Override public void text(String tag, String text) { got.add(tag + "=" + text); }
            });
        }
        assertEquals(1, got.size());
        assertTrue(got.get(0).startsWith("sample/0=Hello → ") && !got.get(0).contains("base:"), got.get(0));
    }

    @Test void chatDataSamplesUseTheChatTemplate() throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("chat/c.jsonl"), List.of(
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello there.\"}]}",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Tea?\"}, {\"role\": \"assistant\", \"content\": \"Green, please.\"}]}"));
        LlmLoraFixture f = new LlmLoraFixture(dir.resolve("out"), data).set("eval_prompts", List.of("Hi"));
        try (LlmLoraTask task = f.task()) {
            assertTrue(task.sampleChatFormat() instanceof org.lorascripts.text.JinjaChatTemplate, "auto: the tokenizer's own template");
            assertEquals("<|im_end|>", task.sampleChatFormat().endOfTurn(), "the tiny tokenizer's template is ChatML");
            PromptCompleter c = new PromptCompleter(task.model(), task.tokenizer(), task.sampleChatFormat());
            assertEquals("<s><|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", task.tokenizer().decode(c.promptIds("Hi")));
            long imEnd = task.tokenizer().encode("<|im_end|>")[0];
            assertTrue(java.util.Arrays.stream(c.stopIds()).anyMatch(s -> s == imEnd), "generation stops at the end of the turn");
        }
    }
}
