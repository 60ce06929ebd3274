package org.lorascripts.models.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/** Logits and loss against transformers 5.17 on the same weights (fp32, CPU). */
class LlamaReferenceTest {

    @ParameterizedTest
    @ValueSource(strings = {"llama", "llama3", "qwen2"})
    void logitsAndLossMatchTransformers(String name) throws Exception {
        try (Scope s = Scope.open(); var ng = Autograd.noGrad();
             LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir(name), Device.CPU, DType.F32)) {
            Tensor ids = LlmFixtures.expected(name, "input_ids");
            Tensor labels = LlmFixtures.expected(name, "labels");
            Tensor want = LlmFixtures.expected(name, "logits");
            Tensor got = m.logits(ids, null, null);
            assertArrayEquals(want.shape(), got.shape());
            double diff = LlmFixtures.maxAbsDiff(got, want);
            double loss = m.lossSum(ids, labels).item() / LlamaForCausalLM.targetCount(labels);
            double wantLoss = LlmFixtures.expected(name, "loss").item();
            System.out.printf("%s: logits max abs diff %.3g, loss %.8f vs %.8f (diff %.3g)%n", name, diff, loss, wantLoss, Math.abs(loss - wantLoss));
            assertTrue(diff < 1e-4, name + " logits differ by " + diff);
            assertEquals(wantLoss, loss, 1e-5, name + " loss");
        }
    }
}
