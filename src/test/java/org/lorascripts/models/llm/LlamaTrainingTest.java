package org.lorascripts.models.llm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.lora.PeftTargets;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** Loss chunking, gradient checkpointing with LoRA, and packed sequences. */
class LlamaTrainingTest {

    @Test
    void chunkedLossEqualsUnchunked() throws Exception {
        try (Scope s = Scope.open(); var ng = Autograd.noGrad();
             LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("llama3"), Device.CPU, DType.F32)) {
            Tensor ids = LlmFixtures.expected("llama3", "input_ids");
            Tensor labels = LlmFixtures.expected("llama3", "labels");
            // reference: full logits, shifted, summed cross-entropy
            long t = ids.size(1);
            Tensor logits = m.logits(ids, null, null).narrow(1, 0, t - 1).reshape(-1, m.config().vocabSize());
            double full = Functional.crossEntropy(logits, labels.narrow(1, 1, t - 1).reshape(-1), Functional.Reduction.SUM, -100, 0).item();
            for (int chunk : new int[] {0, 1, 3, 5, 11, 64}) {
                m.setLossChunkSize(chunk);
                double got = m.lossSum(ids, labels).item();
                assertEquals(full, got, 1e-5 * Math.abs(full), "chunk " + chunk);
            }
            assertEquals(16, LlamaForCausalLM.targetCount(labels));
        }
    }

    @Test
    void checkpointedLoraGradientsEqualPlain() throws Exception {
        try (Scope s = Scope.open(); LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("llama"), Device.CPU, DType.F32)) {
            Predicate<String> all = PeftTargets.select(null, PeftTargets.ALL_LINEAR, null, "lm_head").or(n -> n.equals("lm_head"));
            Rng.manualSeed(3);
            try (LoraNetwork net = LoraNetwork.inject(m.loraHosts(), all, LoraSpec.of(4, 8), Device.CPU)) {
                assertEquals(2 * 7 + 1, net.size());
                for (LoraAdapter a : net.adapters().values()) {
                    try (Tensor u = a.up().detach()) { u.normal_(0, 0.05); }
                }
                Tensor ids = LlmFixtures.expected("llama", "input_ids");
                Tensor labels = LlmFixtures.expected("llama", "labels");
                m.setLossChunkSize(4);
                List<double[]> plain = grads(m, net, ids, labels, false);
                List<double[]> ckpt = grads(m, net, ids, labels, true);
                assertEquals(0, Checkpoint.pendingSegments());
                double maxDiff = 0;
                for (int i = 0; i < plain.size(); i++) {
                    assertArrayEquals(plain.get(i), ckpt.get(i), 1e-5, "gradient " + i);
                    for (int j = 0; j < plain.get(i).length; j++) maxDiff = Math.max(maxDiff, Math.abs(plain.get(i)[j] - ckpt.get(i)[j]));
                }
                System.out.printf("checkpointed vs plain LoRA gradients: max abs diff %.3g over %d tensors%n", maxDiff, plain.size());
                assertTrue(plain.stream().anyMatch(g -> java.util.Arrays.stream(g).anyMatch(x -> x != 0)), "gradients flow");
            }
        }
    }

    /**
     * With q/k/v/o targets the down projection carries no adapter: the recompute skips its GEMM (only its input's
     * gradient runs), and the gradients are still those of the plain run, in float64 to rounding.
     */
    @Test
    void checkpointedAttentionLoraSkipsTheDownProductWithTheSameGradients() throws Exception {
        try (Scope s = Scope.open(); LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("llama"), Device.CPU, DType.F64)) {
            Predicate<String> qkvo = PeftTargets.select(List.of("q_proj", "k_proj", "v_proj", "o_proj"), null, null, null);
            Rng.manualSeed(5);
            try (LoraNetwork net = LoraNetwork.inject(m.loraHosts(), qkvo, LoraSpec.of(4, 8), Device.CPU)) {
                assertEquals(2 * 4, net.size());
                for (LoraAdapter a : net.adapters().values()) {
                    try (Tensor u = a.up().detach()) { u.normal_(0, 0.05); }
                }
                Tensor ids = LlmFixtures.expected("llama", "input_ids");
                Tensor labels = LlmFixtures.expected("llama", "labels");
                m.setLossChunkSize(4);
                // the head has no adapter: its loss chunks are not checkpointed
                List<double[]> plain = grads(m, net, ids, labels, false, 0);
                List<double[]> ckpt = grads(m, net, ids, labels, true, 0);
                for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), ckpt.get(i), 1e-12, "gradient " + i);
                assertTrue(plain.stream().allMatch(g -> java.util.Arrays.stream(g).anyMatch(x -> x != 0)), "every adapter gets a gradient");
            }
        }
    }

    private static List<double[]> grads(LlamaForCausalLM m, LoraNetwork net, Tensor ids, Tensor labels, boolean checkpoint) {
        return grads(m, net, ids, labels, checkpoint, 3);
    }

    private static List<double[]> grads(LlamaForCausalLM m, LoraNetwork net, Tensor ids, Tensor labels, boolean checkpoint, int lossChunks) {
        return grads(m, net, ids, labels, checkpoint, lossChunks, checkpoint ? 2 : 0);
    }

    /** {@code segments}: the checkpointed layer parts waiting for their recompute after the forward. */
    private static List<double[]> grads(LlamaForCausalLM m, LoraNetwork net, Tensor ids, Tensor labels, boolean checkpoint, int lossChunks,
                                        int segments) {
        m.setGradientCheckpointing(checkpoint);
        List<double[]> out = new ArrayList<>();
        try (Scope s = Scope.open()) {
            for (var p : net.trainableParameters()) p.tensor().zeroGrad();
            int before = Checkpoint.pendingSegments();   // other tests' forwards without a backward may have left some
            Tensor loss = m.lossSum(ids, labels).div(LlamaForCausalLM.targetCount(labels));
            // the layers' segments + the loss chunks wait for their recompute
            assertEquals(segments, Checkpoint.pendingSegments() - before - lossChunks);
            loss.backward();
            assertEquals(before, Checkpoint.pendingSegments(), "every segment of this step ran its backward");
            for (var p : net.trainableParameters()) {
                Tensor g = p.tensor().grad();
                out.add(g == null ? new double[0] : g.toDoubleArray());
            }
        }
        return out;
    }

    /**
     * Recomputing only the attention (q/k/v/o adapters, and every linear layer, with LoRA dropout) gives the plain run's
     * gradients in float64 to rounding, with one checkpointed segment per layer waiting for backward.
     */
    @Test
    void recomputedAttentionGivesThePlainGradients() throws Exception {
        try (Scope s = Scope.open(); LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("llama"), Device.CPU, DType.F64)) {
            Tensor ids = LlmFixtures.expected("llama", "input_ids");
            Tensor labels = LlmFixtures.expected("llama", "labels");
            m.setLossChunkSize(4);
            for (String targets : new String[] {"q/k/v/o", PeftTargets.ALL_LINEAR}) {
                Predicate<String> which = targets.equals(PeftTargets.ALL_LINEAR) ? PeftTargets.select(null, targets, null, "lm_head")
                        : PeftTargets.select(List.of("q_proj", "k_proj", "v_proj", "o_proj"), null, null, null);
                Rng.manualSeed(5);
                try (LoraNetwork net = LoraNetwork.inject(m.loraHosts(), which,
                        new LoraSpec(4, 8, 0.2, 0, 0, false), Device.CPU)) {
                    net.setTraining(true);
                    for (LoraAdapter a : net.adapters().values()) {
                        try (Tensor u = a.up().detach()) { u.normal_(0, 0.05); }
                    }
                    Rng.manualSeed(11);
                    List<double[]> plain = grads(m, net, ids, labels, false, 0);
                    m.setAttentionRecompute(true);
                    Rng.manualSeed(11);
                    List<double[]> recomputed;
                    try {
                        recomputed = grads(m, net, ids, labels, false, 0, 2);
                    } finally {
                        m.setAttentionRecompute(false);
                    }
                    for (int i = 0; i < plain.size(); i++) assertArrayEquals(plain.get(i), recomputed.get(i), 1e-12, targets + " gradient " + i);
                    assertTrue(plain.stream().allMatch(g -> java.util.Arrays.stream(g).anyMatch(x -> x != 0)), "every adapter gets a gradient");
                }
            }
        }
    }

    @Test
    void packedSequencesMatchEachAlone() throws Exception {
        for (String name : new String[] {"llama", "qwen2"}) {
            try (Scope s = Scope.open(); var ng = Autograd.noGrad();
                 LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir(name), Device.CPU, DType.F32)) {
                Tensor ids = LlmFixtures.expected(name, "input_ids");
                Tensor a = ids.select(0, 0).narrow(0, 0, 5).unsqueeze(0);     // (1, 5)
                Tensor b = ids.select(0, 1).narrow(0, 0, 7).unsqueeze(0);     // (1, 7)
                Tensor packed = Torch.cat(List.of(a, b), 1);                  // (1, 12)
                Tensor pos = Torch.of(new long[] {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6}, 1, 12);
                Tensor seq = Torch.of(new long[] {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1}, 1, 12);
                Tensor together = m.logits(packed, pos, null, seq, null);
                double da = LlmFixtures.maxAbsDiff(together.narrow(1, 0, 5), m.logits(a, null, null));
                double db = LlmFixtures.maxAbsDiff(together.narrow(1, 5, 7), m.logits(b, null, null));
                System.out.printf("%s packed vs alone: max abs diff %.3g / %.3g%n", name, da, db);
                assertTrue(da < 1e-5 && db < 1e-5, name + ": " + da + ", " + db);
                // without the sequence ids the second example would see the first
                double leak = LlmFixtures.maxAbsDiff(m.logits(packed, pos, null).narrow(1, 5, 7), m.logits(b, null, null));
                assertTrue(leak > 1e-4, "the mask matters");
            }
        }
    }

    @Test
    void paddingMaskMatchesUnpaddedRun() throws Exception {
        try (Scope s = Scope.open(); var ng = Autograd.noGrad();
             LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("llama"), Device.CPU, DType.F32)) {
            Tensor ids = LlmFixtures.expected("llama", "input_ids").select(0, 0).unsqueeze(0);   // (1, 12)
            Tensor padded = Torch.cat(List.of(Torch.zeros(new long[] {1, 3}, DType.I64, Device.CPU), ids), 1);   // left padding (1, 15)
            Tensor mask = Torch.cat(List.of(Torch.zeros(new long[] {1, 3}, DType.I64, Device.CPU), Torch.ones(new long[] {1, 12}, DType.I64, Device.CPU)), 1);
            Tensor pos = Torch.cat(List.of(Torch.zeros(new long[] {1, 3}, DType.I64, Device.CPU), Torch.arange(12).unsqueeze(0)), 1);
            Tensor got = m.logits(padded, pos, mask).narrow(1, 3, 12);
            double d = LlmFixtures.maxAbsDiff(got, m.logits(ids, null, null));
            assertTrue(d < 1e-5, "left-padded logits differ by " + d);
        }
    }

    @Test
    void masksCoverWindowsCacheOffsetsAndPacking() {
        try (Scope s = Scope.open()) {
            AttentionMask plain = AttentionMask.build(6, 0, 0, null, null, Device.CPU);
            assertTrue(plain.causal() && plain.mask() == null, "plain causal uses the fused flag");
            AttentionMask decode = AttentionMask.build(1, 9, 0, null, null, Device.CPU);
            assertTrue(!decode.causal() && decode.mask() == null, "one new token sees the whole cache");
            // window 3 over 6 tokens: query q sees keys q-2..q
            boolean[] w = AttentionMask.build(6, 0, 3, null, null, Device.CPU).mask().toBooleanArray();
            for (int q = 0; q < 6; q++) {
                for (int k = 0; k < 6; k++) assertEquals(k <= q && q - k < 3, w[q * 6 + k], "window q" + q + " k" + k);
            }
            // two new tokens after 3 cached: query i sits at position 3 + i
            boolean[] c = AttentionMask.build(2, 3, 0, null, null, Device.CPU).mask().toBooleanArray();
            assertArrayEquals(new boolean[] {true, true, true, true, false, true, true, true, true, true}, c);
            boolean[] p = AttentionMask.build(4, 0, 0, null, Torch.of(new long[] {0, 0, 1, 1}, 1, 4), Device.CPU).mask().toBooleanArray();
            assertArrayEquals(new boolean[] {true, false, false, false, true, true, false, false, false, false, true, false, false, false, true, true}, p);
        }
    }

    @Test
    void bf16ComputeStaysCloseToTheFp32Reference() throws Exception {
        try (Scope s = Scope.open(); var ng = Autograd.noGrad();
             LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("llama3"), Device.CPU, DType.BF16)) {
            Tensor ids = LlmFixtures.expected("llama3", "input_ids");
            Tensor got = m.logits(ids, null, null);
            assertEquals(DType.BF16, got.dtype());
            double d = LlmFixtures.maxAbsDiff(got.to(DType.F32), LlmFixtures.expected("llama3", "logits"));
            double loss = m.lossSum(ids, LlmFixtures.expected("llama3", "labels")).item() / 16;
            System.out.printf("llama3 in bf16: logits max abs diff %.3g, loss %.5f vs %.5f%n", d, loss, LlmFixtures.expected("llama3", "loss").item());
            assertTrue(d < 0.05, "bf16 logits differ by " + d);
        }
    }

    @Test
    void trainingAndGenerationLeakNoTensors() throws Exception {
        long before = org.lorascripts.tensor.LiveTensors.settle();
        try (LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("qwen2"), Device.CPU, DType.F32)) {
            m.setGradientCheckpointing(true);
            m.setLossChunkSize(5);
            try (LoraNetwork net = LoraNetwork.inject(m.loraHosts(), PeftTargets.select(List.of("q_proj", "up_proj"), null, null, "lm_head"),
                    LoraSpec.of(2, 4), Device.CPU); Scope s = Scope.open()) {
                Tensor ids = LlmFixtures.expected("qwen2", "input_ids");
                m.lossSum(ids, LlmFixtures.expected("qwen2", "labels")).backward();
                for (var p : net.trainableParameters()) p.tensor().zeroGrad();
            }
            new Generator(m).generate(new long[] {1, 2, 3}, Generator.Options.sample(4, 0.8, 0.9, 10, 1));
        }
        assertEquals(0, Checkpoint.pendingSegments());
        assertEquals(before, Tensor.liveCount(), "every tensor was freed");
    }
}
