package org.lorascripts.tasks.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ConfigException;
import org.lorascripts.demo.TinyLlamaPretrainer;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.PeftAdapterReader;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.TinyLlamaBuiltin;
import org.lorascripts.nn.Fp8Weight;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.train.TrainingException;

/**
 * load_in_8bit on builtin:tiny-llama: the decoder's linear layers hold fp8 weights and compute as the same model whose
 * weights were replaced by their dequantised values, in forward and in training (with and without gradient
 * checkpointing); the adapter is a plain PEFT adapter for the unquantised base; the settings' conflicts and the
 * libtorch without float8 each get one line.
 */
class LlmFp8BaseTest {
    @TempDir Path dir;

    private static final long[] IDS = {1, 40, 50, 60, 70, 80, 90, 100};

    private static void needFp8() {
        assumeTrue(DType.F8E4M3.available(), "this libtorch has no float8_e4m3fn");
    }

    private LlmLoraFixture fixture(String name) throws Exception {
        Path data = LlmLoraFixture.writeData(dir.resolve("data/lines.txt"), LlmLoraFixture.LINES);
        return new LlmLoraFixture(dir.resolve(name), data);
    }

    /** The built-in model's folder with every decoder linear weight replaced by its fp8 values times their scales, in f64 (exact). */
    private Path dequantisedBase() throws IOException {
        return QuantizedBaseCheck.dequantisedBase(dir.resolve("dequantised-base"), t -> Fp8Weight.quantize(t, "test").dense(DType.F64));
    }

    @Test void decoderLinearsAre8bitAndComputeAsTheDequantisedModel() throws Exception {
        needFp8();
        Path base = TinyLlamaBuiltin.ensureCached();
        try (LlamaForCausalLM q = LlamaForCausalLM.load(base, Device.CPU, DType.F64, LlamaForCausalLM.Quantization.FP8);
             LlamaForCausalLM dense = LlamaForCausalLM.load(dequantisedBase(), Device.CPU, DType.F64);
             LlamaForCausalLM plain = LlamaForCausalLM.load(base, Device.CPU, DType.F64)) {
            Map<String, LoraHost> hosts = q.loraHosts();
            for (String n : q.allLinearNames()) assertTrue(hosts.get(n) instanceof Linear l && l.quantized(), n);
            assertInstanceOf(Linear.class, q.lmHead());
            assertFalse(q.lmHead().quantized(), "lm_head stays in the compute dtype");
            assertTrue(q.weights().loadedTensors().keySet().stream().noneMatch(k -> k.matches(".*_proj\\.weight")),
                    q.weights().loadedTensors().keySet().toString());
            assertTrue(q.weights().loadedTensors().containsKey("model.embed_tokens.weight"));
            float[] ql = LlmLoraFixture.logits(q, IDS), dl = LlmLoraFixture.logits(dense, IDS), pl = LlmLoraFixture.logits(plain, IDS);
            assertArrayEquals(dl, ql, "8-bit logits equal the dequantised model's");
            double err = LlmLoraFixture.maxAbsDiff(pl, ql);
            System.out.printf("tiny-llama fp8 vs f64 logits: max abs diff %.3g%n", err);
            assertTrue(err > 1e-6, "quantisation changed the model");
        }
    }

    /** Training over the 8-bit base follows training over its dequantised values step for step. */
    @Test void trainsAsTheDequantisedModelWithAndWithoutGradientCheckpointing() throws Exception {
        needFp8();
        QuantizedBaseCheck.trainsAsTheDequantisedModel(dir.resolve("steps"), dequantisedBase(), "load_in_8bit");
    }

    @Test void lossFallsAndTheAdapterLoadsOnTheUnquantisedBase() throws Exception {
        needFp8();
        LlmLoraFixture f = fixture("out").set("quantization_bit", 8).set("epochs", 6).set("learning_rate", 3e-3)
                .set("target_modules", List.of("all-linear"));
        assertTrue(f.config().model().loadIn8bit() && !f.config().model().loadIn4bit(), "quantization_bit: 8 is load_in_8bit");
        Path adapter;
        try (LlmLoraTask task = f.task()) {
            adapter = f.run(task).adapter();
            assertThrows(IllegalStateException.class, () -> task.network().mergeIntoWeights(), "no merge into 8-bit weights");
        }
        assertTrue(f.console().contains("model: " + 7 * TinyLlamaPretrainer.LAYERS + " decoder linear layers as 8-bit float (e4m3): "), f.console());
        double[] l = f.losses();
        double first = (l[0] + l[1] + l[2]) / 3, last = (l[l.length - 1] + l[l.length - 2] + l[l.length - 3]) / 3;
        System.out.printf("tiny-llama 8-bit base: loss %.4f -> %.4f over %d steps%n", first, last, l.length);
        assertTrue(last < first - 0.2, "loss " + first + " -> " + last);
        try (LlamaForCausalLM plain = LlamaForCausalLM.load(TinyLlamaBuiltin.ensureCached(), Device.CPU, DType.F32);
             LoraNetwork net = PeftAdapterReader.attach(adapter, plain.loraHosts(), Device.CPU)) {
            assertEquals(7 * TinyLlamaPretrainer.LAYERS, net.size());
        }
    }

    @Test void fourAndEightBitsTogetherAreRefused() throws Exception {
        LlmLoraFixture f = fixture("both").set("load_in_4bit", true).set("load_in_8bit", true);
        var e = assertThrows(ConfigException.class, f::config);
        assertTrue(e.getMessage().contains("load_in_8bit and load_in_4bit ask for two base precisions; keep one"), e.getMessage());
        LlmLoraFixture g = fixture("bits").set("quantization_bit", 6);
        var e2 = assertThrows(ConfigException.class, g::config);
        assertTrue(e2.getMessage().contains("quantization_bit: 6 is not supported; use 4"), e2.getMessage());
    }

    @Test void withoutFloat8TheRunSaysWhatToDo() throws Exception {
        assumeTrue(!DType.F8E4M3.available(), "this libtorch has float8");
        LlmLoraFixture f = fixture("old").set("load_in_8bit", true);
        var e = assertThrows(TrainingException.class, () -> f.task().close());
        assertTrue(e.getMessage().startsWith("load_in_8bit: libtorch ") && e.getMessage().contains("use libtorch 2.1 or newer"), e.getMessage());
    }
}
