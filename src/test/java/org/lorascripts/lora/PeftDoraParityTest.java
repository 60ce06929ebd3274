package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/**
 * DoRA against peft 0.21: adapters that peft built and saved (use_dora, every linear layer of the tiny
 * Llama and Qwen2 fixtures, Qwen2 with q/k/v biases), with the logits, the summed loss, gradients and
 * merged logits peft computed for them. Reference: {@code tools/dora_reference.py peft
 * src/test/resources/fixtures/dora} (fp32, CPU).
 */
class PeftDoraParityTest {
    private static final String[] GRAD_MODULES = {"model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj"};

    static Path resource(String path) {
        try {
            return Path.of(PeftDoraParityTest.class.getResource(path).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Tensor expected(String name, String key) throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(resource("/fixtures/dora/" + name + "/expected.safetensors"))) {
            return TensorIO.read(f, key);
        }
    }

    /** max |a − b| / max(max |b|, 1e-3): gradients of very different sizes share one tolerance. */
    private static double relDiff(Tensor a, Tensor b) {
        double scale;
        try (Tensor ab = b.abs(); Tensor mx = ab.amax()) {
            scale = Math.max(mx.item(), 1e-3);
        }
        return TensorDiff.maxAbsDiff(a, b) / scale;
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2"})
    void forwardLossGradientsAndMergeMatchPeft(String name, @TempDir Path tmp) throws Exception {
        Path base = resource("/fixtures/hf/" + name + "/config.json").getParent();
        Path adapter = resource("/fixtures/dora/" + name + "/adapter/adapter_config.json").getParent();
        try (Scope s = Scope.open();
             LlamaForCausalLM m = LlamaForCausalLM.load(base, Device.CPU, DType.F32);
             LoraNetwork net = PeftAdapterReader.attach(adapter, m.loraHosts(), Device.CPU)) {
            assertEquals(14, net.size());
            assertTrue(net.adapters().values().stream().allMatch(a -> a.decomposition() == LoraAdapter.Decomposition.OUTPUT));
            Tensor ids = expected(name, "input_ids");

            // 1. logits
            Tensor logits;
            try (var ng = Autograd.noGrad()) {
                logits = m.logits(ids, null, null);
            }
            double dl = TensorDiff.maxAbsDiff(logits, expected(name, "logits"));
            // 2. the summed loss and its gradients (the norm is detached, as in peft)
            Tensor loss = m.lossSum(ids, ids);
            double wantLoss = expected(name, "loss_sum").item();
            loss.backward();
            Map<String, Double> gradDiffs = new LinkedHashMap<>();
            for (String module : GRAD_MODULES) {
                LoraAdapter a = net.adapters().get(module);
                gradDiffs.put(module + ".lora_A", relDiff(a.down().grad(), expected(name, module + ".lora_A.grad")));
                gradDiffs.put(module + ".lora_B", relDiff(a.up().grad(), expected(name, module + ".lora_B.grad")));
                gradDiffs.put(module + ".magnitude", relDiff(a.magnitude().grad(), expected(name, module + ".magnitude.grad")));
            }
            System.out.printf("%s DoRA vs peft: logits max abs diff %.3g, loss %.6f vs %.6f, gradient rel diffs %s%n", name, dl, loss.item(), wantLoss, gradDiffs);
            assertTrue(dl < 1e-4, "logits differ by " + dl);
            assertEquals(wantLoss, loss.item(), 1e-4 * Math.abs(wantLoss));
            gradDiffs.forEach((k, v) -> assertTrue(v < 1e-4, k + " gradient differs by " + v + " (relative)"));

            try (var ng = Autograd.noGrad()) {
                // 3. saved as peft saves it: same keys and shapes, use_dora, and it reads back to the same logits
                Path ours = tmp.resolve("ours");
                PeftAdapterWriter.write(ours, net, "fixtures/hf/" + name, 0, false, DType.F32);
                assertTrue(Json.readObject(ours.resolve(PeftAdapterWriter.CONFIG_FILE)).get("use_dora").booleanValue());
                try (SafetensorsFile theirs = SafetensorsFile.open(adapter.resolve(PeftAdapterWriter.WEIGHTS_FILE));
                     SafetensorsFile mine = SafetensorsFile.open(ours.resolve(PeftAdapterWriter.WEIGHTS_FILE))) {
                    assertEquals(new java.util.TreeSet<>(theirs.names()), new java.util.TreeSet<>(mine.names()));
                    for (String k : theirs.names()) assertArrayEquals(theirs.info(k).shape(), mine.info(k).shape(), k);
                }
                try (LlamaForCausalLM m2 = LlamaForCausalLM.load(base, Device.CPU, DType.F32);
                     LoraNetwork back = PeftAdapterReader.attach(ours, m2.loraHosts(), Device.CPU)) {
                    assertTrue(TensorDiff.maxAbsDiff(m2.logits(ids, null, null), logits) < 1e-6, "our saved DoRA reads back");
                }
                // 4. merged into the folder (./lora merge) and in memory: peft's merge_and_unload logits
                Tensor wantMerged = expected(name, "merged_logits");
                Path merged = tmp.resolve("merged");
                MergedModelWriter.write(base, adapter, merged);
                double dFolder;
                try (LlamaForCausalLM mm = LlamaForCausalLM.load(merged, Device.CPU, DType.F32)) {
                    dFolder = TensorDiff.maxAbsDiff(mm.logits(ids, null, null), wantMerged);
                }
                net.mergeIntoWeights();
                double dMem = TensorDiff.maxAbsDiff(m.logits(ids, null, null), wantMerged);
                System.out.printf("%s merged: folder %.3g, in memory %.3g%n", name, dFolder, dMem);
                assertTrue(dFolder < 1e-4, "merged folder logits differ by " + dFolder);
                assertTrue(dMem < 1e-4, "in-memory merge logits differ by " + dMem);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void magnitudesWithoutUseDoraAreRefused(@TempDir Path tmp) throws Exception {
        Path adapter = resource("/fixtures/dora/llama/adapter/adapter_config.json").getParent();
        Path copy = java.nio.file.Files.createDirectories(tmp.resolve("a"));
        java.nio.file.Files.copy(adapter.resolve(PeftAdapterWriter.WEIGHTS_FILE), copy.resolve(PeftAdapterWriter.WEIGHTS_FILE));
        String cfg = java.nio.file.Files.readString(adapter.resolve(PeftAdapterWriter.CONFIG_FILE));
        java.nio.file.Files.writeString(copy.resolve(PeftAdapterWriter.CONFIG_FILE), cfg.replace("\"use_dora\": true", "\"use_dora\": false"));
        var e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> PeftAdapterReader.read(copy));
        assertTrue(e.getMessage().contains("lora_magnitude_vector is a DoRA magnitude, but") && e.getMessage().contains("has no use_dora: true"), e.getMessage());
    }
}
