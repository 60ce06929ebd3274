package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.demo.TinyLlamaPretrainer;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.PeftAdapterReader;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.TinyLlamaBuiltin;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.Linear4bit;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.Nf4;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;

/**
 * QLoRA on builtin:tiny-llama: with load_in_4bit the decoder's linear layers hold NF4 weights and
 * compute as the same model whose weights were replaced by their dequantised values (a folder
 * written here), in forward and in training; the adapter is a plain PEFT adapter for the unquantised base.
 */
class LlmQloraTest {
    @TempDir Path dir;

    private static final long[] IDS = {1, 40, 50, 60, 70, 80, 90, 100};

    private LlmLoraFixture fixture(String name) throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        return new LlmLoraFixture(dir.resolve(name), data);
    }

    /** The built-in model's folder with every decoder linear weight replaced by dequantize(quantize(w)) in fp32 (the file stores 16-bit weights). */
    private Path dequantisedBase() throws IOException {
        return QuantizedBaseCheck.dequantisedBase(dir.resolve("dequantised-base"), t -> Nf4.dequantize(Nf4.quantize(t), DType.F32));
    }

    @Test void decoderLinearsAre4bitAndComputeAsTheDequantisedModel() throws Exception {
        Path base = TinyLlamaBuiltin.ensureCached();
        try (LlamaForCausalLM q = LlamaForCausalLM.load(base, Device.CPU, DType.F32, true);
             LlamaForCausalLM dense = LlamaForCausalLM.load(dequantisedBase(), Device.CPU, DType.F32);
             LlamaForCausalLM plain = LlamaForCausalLM.load(base, Device.CPU, DType.F32)) {
            Map<String, LoraHost> hosts = q.loraHosts();
            for (String n : q.allLinearNames()) assertInstanceOf(Linear4bit.class, hosts.get(n), n);
            if (hosts.containsKey("lm_head")) assertInstanceOf(Linear.class, hosts.get("lm_head"));
            assertInstanceOf(Linear.class, q.lmHead());
            // the 4-bit model keeps no dense copy of a decoder linear weight, but does keep embeddings and norms
            assertTrue(q.weights().loadedTensors().keySet().stream().noneMatch(k -> k.matches(".*_proj\\.weight")),
                    q.weights().loadedTensors().keySet().toString());
            assertTrue(q.weights().loadedTensors().containsKey("model.embed_tokens.weight"));
            assertTrue(q.weights().loadedTensors().containsKey("model.layers.0.input_layernorm.weight"));
            float[] ql = LlmLoraFixture.logits(q, IDS), dl = LlmLoraFixture.logits(dense, IDS), pl = LlmLoraFixture.logits(plain, IDS);
            assertArrayEquals(dl, ql, "4-bit logits equal the dequantised model's");
            double quantisationError = LlmLoraFixture.maxAbsDiff(pl, ql);
            System.out.printf("tiny-llama NF4 vs fp32 logits: max abs diff %.3g%n", quantisationError);
            assertTrue(quantisationError > 1e-4, "quantisation changed the model");
        }
    }

    /** Training over the 4-bit base follows training over its dequantised values step for step (both gradient paths). */
    @Test void trainsAsTheDequantisedModelWithAndWithoutGradientCheckpointing() throws Exception {
        QuantizedBaseCheck.trainsAsTheDequantisedModel(dir.resolve("steps"), dequantisedBase(), "load_in_4bit");
    }

    /** DoRA reads the host's weight for its norms: over a 4-bit host that is the dequantised copy. */
    @Test void doraOver4bitTrainsAsTheDequantisedModel() throws Exception {
        Path dq = dequantisedBase();
        double[][] losses = new double[2][];
        for (int i = 0; i < 2; i++) {
            LlmLoraFixture f = fixture("dora" + i).set("use_dora", true).set("max_steps", 3).set("learning_rate", 3e-3).set("lora_dropout", 0.1);
            if (i == 0) f.set("base_model", dq.toString()); else f.set("load_in_4bit", true);
            try (LlmLoraTask task = f.task(DType.F64)) {
                f.run(task);
                losses[i] = f.losses();
            }
        }
        assertArrayEquals(losses[0], losses[1], 1e-9);
    }

    @Test void lossFallsAndTheAdapterLoadsOnTheUnquantisedBase() throws Exception {
        LlmLoraFixture f = fixture("out").set("quantization_bit", 4).set("epochs", 6).set("learning_rate", 3e-3)
                .set("target_modules", List.of("all-linear"));
        assertTrue(f.config().model().loadIn4bit(), "quantization_bit: 4 is load_in_4bit");
        Path adapter;
        float[] trained;
        try (LlmLoraTask task = f.task()) {
            adapter = f.run(task).adapter();
            task.network().setTraining(false);
            trained = LlmLoraFixture.logits(task.model(), IDS);
            assertThrows(IllegalStateException.class, () -> task.network().mergeIntoWeights(), "no merge into 4-bit weights");
        }
        assertTrue(f.console().contains("model: " + 7 * TinyLlamaPretrainer.LAYERS + " decoder linear layers as 4-bit NF4: "), f.console());
        double[] l = f.losses();
        double first = (l[0] + l[1] + l[2]) / 3, last = (l[l.length - 1] + l[l.length - 2] + l[l.length - 3]) / 3;
        System.out.printf("tiny-llama QLoRA: loss %.4f -> %.4f over %d steps%n", first, last, l.length);
        assertTrue(last < first - 0.2, "loss " + first + " -> " + last);
        // a plain PEFT adapter: it attaches to the unquantised model (and on the dequantised one gives the trained logits)
        try (LlamaForCausalLM plain = LlamaForCausalLM.load(TinyLlamaBuiltin.ensureCached(), Device.CPU, DType.F32);
             LoraNetwork net = PeftAdapterReader.attach(adapter, plain.loraHosts(), Device.CPU)) {
            assertEquals(7 * TinyLlamaPretrainer.LAYERS, net.size());
            for (LoraHost h : plain.loraHosts().values()) assertFalse(h.quantized());
        }
        try (LlamaForCausalLM dense = LlamaForCausalLM.load(dequantisedBase(), Device.CPU, DType.F32);
             LoraNetwork net = PeftAdapterReader.attach(adapter, dense.loraHosts(), Device.CPU)) {
            double diff = LlmLoraFixture.maxAbsDiff(trained, LlmLoraFixture.logits(dense, IDS));
            assertTrue(diff < 1e-5, "adapter on the dequantised base differs by " + diff);
        }
    }
}
