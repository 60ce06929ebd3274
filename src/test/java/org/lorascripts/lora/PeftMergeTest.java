package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsIndex;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.TinyLlama;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** Merging a PEFT adapter into its base: the merged folder computes what base + adapter computed. */
class PeftMergeTest {

    @Test
    void mergedModelEqualsBasePlusAdapter(@TempDir Path tmp) throws Exception {
        Path base = tmp.resolve("base"), adapter = tmp.resolve("adapter"), merged = tmp.resolve("merged"), sharded = tmp.resolve("sharded");
        TinyLlama.writeModel(base, 100);
        Files.writeString(base.resolve("tokenizer.json"), "{\"stand-in\": true}");
        try (Scope s = Scope.open(); var ng = Autograd.noGrad()) {
            Tensor ids = Torch.of(new long[] {1, 17, 4, 88, 23, 61, 5, 2, 9}, 1, 9);
            Tensor want;
            try (LlamaForCausalLM m = LlamaForCausalLM.load(base, Device.CPU, DType.F32);
                 LoraNetwork net = PeftAdapterTest.injectRandom(m, List.of("q_proj", "v_proj", "down_proj"), LoraSpec.of(4, 8), 5)) {
                want = m.logits(ids, null, null);
                PeftAdapterWriter.write(adapter, net, base.toString(), 0, false, DType.F32);
            }
            MergedModelWriter.write(base, adapter, merged);
            assertTrue(Files.isRegularFile(merged.resolve("config.json")));
            assertEquals("{\"stand-in\": true}", Files.readString(merged.resolve("tokenizer.json")), "tokenizer files copied");
            assertFalse(Files.exists(merged.resolve("model.safetensors.index.json")));
            try (LlamaForCausalLM m = LlamaForCausalLM.load(merged, Device.CPU, DType.F32)) {
                double d = TensorDiff.maxAbsDiff(want, m.logits(ids, null, null));
                System.out.printf("merged vs base+adapter logits: max abs diff %.3g%n", d);
                assertTrue(d < 1e-5, "merged logits differ by " + d);
            }
            // small shards: an index and several files, same model
            MergedModelWriter.write(base, adapter, sharded, 200_000);
            try (SafetensorsIndex idx = SafetensorsIndex.open(sharded.resolve("model.safetensors.index.json"))) {
                assertTrue(idx.shardFileNames().size() > 1);
                assertTrue(idx.shardFileNames().get(0).matches("model-00001-of-\\d{5}\\.safetensors"));
            }
            assertFalse(Files.exists(sharded.resolve("model.safetensors")));
            try (LlamaForCausalLM m = LlamaForCausalLM.load(sharded, Device.CPU, DType.F32)) {
                assertTrue(TensorDiff.maxAbsDiff(want, m.logits(ids, null, null)) < 1e-5);
            }
        }
    }
}
