package org.lorascripts.models.llm;

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
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * The fused LM head + cross-entropy (gradient w.r.t. the hidden states computed in the forward pass)
 * against the checkpointed per-chunk path it replaces: same loss, same gradients for every LoRA
 * parameter and for the input embeddings, over chunk sizes, ignored labels, packing, tied and
 * untied heads, with and without gradient checkpointing.
 */
class FusedLossTest {
    private static final Predicate<String> DECODER = PeftTargets.select(null, PeftTargets.ALL_LINEAR, null, "lm_head");

    /** The loss and every gradient of one forward + backward. */
    private record Run(double loss, List<double[]> grads) {}

    /** A batch: ids, labels, optional positions and sequence ids. */
    private record Batch(Tensor ids, Tensor labels, Tensor positions, Tensor sequences) {}

    private static Batch fixtureBatch(String name) throws Exception {
        Tensor ids = LlmFixtures.expected(name, "input_ids");                   // (2, 12)
        long[] labels = LlmFixtures.expected(name, "labels").toLongArray();     // first 4 of each row are -100
        labels[7] = LlamaForCausalLM.IGNORE_INDEX;                              // a few more, mid-sequence and last
        labels[12 + 9] = LlamaForCausalLM.IGNORE_INDEX;
        labels[11] = LlamaForCausalLM.IGNORE_INDEX;
        return new Batch(ids, Torch.of(labels, 2, 12), null, null);
    }

    /** Two sequences of the fixture packed into one row, the second's first label ignored. */
    private static Batch packedBatch(String name) throws Exception {
        long[] src = LlmFixtures.expected(name, "input_ids").toLongArray();
        long[] ids = new long[12], labels = new long[12];
        for (int i = 0; i < 5; i++) ids[i] = src[i];
        for (int i = 0; i < 7; i++) ids[5 + i] = src[12 + i];
        for (int i = 0; i < 12; i++) labels[i] = ids[i];
        labels[0] = labels[5] = LlamaForCausalLM.IGNORE_INDEX;
        return new Batch(Torch.of(ids, 1, 12), Torch.of(labels, 1, 12),
                Torch.of(new long[] {0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6}, 1, 12),
                Torch.of(new long[] {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1}, 1, 12));
    }

    private static LoraNetwork lora(LlamaForCausalLM m, Predicate<String> targets) {
        Rng.manualSeed(5);
        LoraNetwork net = LoraNetwork.inject(m.loraHosts(), targets, LoraSpec.of(4, 8), Device.CPU);
        for (LoraAdapter a : net.adapters().values()) {
            try (Tensor u = a.up().detach()) { u.normal_(0, 0.05); }   // non-zero up: every factor gets a gradient
        }
        return net;
    }

    /** Mean loss over targets, backward; the gradients of the LoRA parameters, then of the embedding matrix when it is trainable. */
    private static Run run(LlamaForCausalLM m, LoraNetwork net, Batch batch, boolean fused, boolean checkpointing, int chunk) {
        m.setFusedLinearLoss(fused);
        m.setGradientCheckpointing(checkpointing);
        m.setLossChunkSize(chunk);
        Tensor embed = m.model().embedTokens().weight();
        try (Scope s = Scope.open()) {
            for (var p : net.trainableParameters()) p.tensor().zeroGrad();
            embed.zeroGrad();
            Tensor sum = m.lossSum(batch.ids(), batch.labels(), batch.positions(), batch.sequences());
            Tensor loss = sum.div(LlamaForCausalLM.targetCount(batch.labels()));
            loss.backward();
            assertEquals(0, Checkpoint.pendingSegments(), "every checkpointed segment ran its backward");
            List<double[]> grads = new ArrayList<>();
            for (var p : net.trainableParameters()) grads.add(p.tensor().grad().toDoubleArray());
            if (embed.requiresGrad()) grads.add(embed.grad().toDoubleArray());
            return new Run(sum.item(), grads);
        }
    }

    /** max |a - b| over every gradient, relative to the largest |b|. */
    private static double relDiff(Run a, Run b) {
        double diff = 0, scale = 0;
        assertEquals(b.grads().size(), a.grads().size());
        for (int i = 0; i < a.grads().size(); i++) {
            double[] x = a.grads().get(i), y = b.grads().get(i);
            assertEquals(y.length, x.length);
            for (int j = 0; j < x.length; j++) {
                diff = Math.max(diff, Math.abs(x[j] - y[j]));
                scale = Math.max(scale, Math.abs(y[j]));
            }
        }
        assertTrue(scale > 0, "gradients flow");
        return diff / scale;
    }

    private static void compare(LlamaForCausalLM m, LoraNetwork net, Batch batch, String what, double lossTol, double gradTol) {
        double worstLoss = 0, worstGrad = 0;
        for (boolean ckpt : new boolean[] {false, true}) {
            for (int chunk : new int[] {0, 1, 4, 5, 11, 64}) {   // 11 positions: whole, ragged 4+4+3 and 5+5+1, exact, larger
                Run old = run(m, net, batch, false, ckpt, chunk);
                Run fused = run(m, net, batch, true, ckpt, chunk);
                String where = what + ", chunk " + chunk + (ckpt ? ", checkpointing" : "");
                assertEquals(old.loss(), fused.loss(), lossTol * Math.abs(old.loss()), where + ": loss");
                double d = relDiff(fused, old);
                assertTrue(d <= gradTol, where + ": gradients differ by " + d + " (relative to the largest)");
                worstLoss = Math.max(worstLoss, Math.abs(old.loss() - fused.loss()) / Math.abs(old.loss()));
                worstGrad = Math.max(worstGrad, d);
            }
        }
        System.out.printf("fused vs checkpointed head, %s: loss rel diff %.3g, gradient rel diff %.3g%n", what, worstLoss, worstGrad);
    }

    @Test
    void f64MatchesTheCheckpointedPathOnUntiedHeads() throws Exception {
        for (String name : new String[] {"llama", "llama3"}) {
            try (Scope s = Scope.open(); LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir(name), Device.CPU, DType.F64);
                 LoraNetwork net = lora(m, DECODER)) {
                m.model().embedTokens().weight().requiresGrad_(true);   // the gradient that reaches the input embeddings
                // LoRA factors are fp32: their gradients are rounded to fp32; the embedding gradient stays f64
                compare(m, net, fixtureBatch(name), name, 1e-13, 1e-7);
                compare(m, net, packedBatch(name), name + " packed", 1e-13, 1e-7);
                Run old = run(m, net, fixtureBatch(name), false, false, 4), fused = run(m, net, fixtureBatch(name), true, false, 4);
                double[] ge = fused.grads().getLast(), go = old.grads().getLast();
                double d = 0, scale = 0;
                for (int i = 0; i < ge.length; i++) { d = Math.max(d, Math.abs(ge[i] - go[i])); scale = Math.max(scale, Math.abs(go[i])); }
                assertTrue(scale > 0 && d <= 1e-10 * scale, name + ": embedding gradients differ by " + d + " of " + scale);
            }
        }
    }

    @Test
    void f64MatchesTheCheckpointedPathOnATiedHead() throws Exception {
        try (Scope s = Scope.open(); LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("qwen2"), Device.CPU, DType.F64);
             LoraNetwork net = lora(m, DECODER)) {
            compare(m, net, fixtureBatch("qwen2"), "qwen2", 1e-13, 1e-7);
            compare(m, net, packedBatch("qwen2"), "qwen2 packed", 1e-13, 1e-7);
        }
    }

    @Test
    void f32AndBf16StayCloseToTheCheckpointedPath() throws Exception {
        for (String name : new String[] {"llama", "qwen2"}) {
            for (DType dt : new DType[] {DType.F32, DType.BF16}) {
                try (Scope s = Scope.open(); LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir(name), Device.CPU, dt);
                     LoraNetwork net = lora(m, DECODER)) {
                    boolean bf16 = dt == DType.BF16;
                    compare(m, net, fixtureBatch(name), name + " " + dt, bf16 ? 1e-6 : 1e-6, bf16 ? 3e-2 : 1e-5);
                }
            }
        }
    }

    @Test
    void fusedLossUnderGradMatchesTheHfReference() throws Exception {
        for (String name : new String[] {"llama", "llama3", "qwen2"}) {
            try (Scope s = Scope.open(); LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir(name), Device.CPU, DType.F32);
                 LoraNetwork net = lora(m, DECODER)) {
                net.adapters().values().forEach(a -> { try (Tensor u = a.up().detach()) { u.zero_(); } });   // the base model's loss
                Tensor labels = LlmFixtures.expected(name, "labels");
                m.setLossChunkSize(5);
                Tensor sum = m.lossSum(LlmFixtures.expected(name, "input_ids"), labels);
                assertTrue(sum.requiresGrad(), "the fused path ran with a graph");
                double expected = LlmFixtures.expected(name, "loss").toDoubleArray()[0];
                assertEquals(expected, sum.item() / LlamaForCausalLM.targetCount(labels), 1e-5 * expected, name);
                sum.backward();
            }
        }
    }

    @Test
    void onlyTheHeadWithoutGradientsIsFused() throws Exception {
        try (Scope s = Scope.open(); LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("llama"), Device.CPU, DType.F64)) {
            Batch batch = fixtureBatch("llama");
            m.setLossChunkSize(4);                                   // 3 chunks
            try (LoraNetwork net = lora(m, DECODER)) {
                try (Scope r = Scope.open()) {
                    Tensor loss = m.lossSum(batch.ids(), batch.labels());
                    assertEquals(0, Checkpoint.pendingSegments(), "fused: no chunk waits for a recompute");
                    loss.backward();
                }
                m.setFusedLinearLoss(false);
                try (Scope r = Scope.open()) {
                    Tensor loss = m.lossSum(batch.ids(), batch.labels());
                    assertEquals(3, Checkpoint.pendingSegments(), "switched off: the checkpointed chunks");
                    loss.backward();
                }
                m.setFusedLinearLoss(true);
            }
            // a LoRA on lm_head needs the recompute: the head's factors get their gradients there
            try (LoraNetwork net = lora(m, n -> n.equals("lm_head")); Scope r = Scope.open()) {
                Tensor loss = m.lossSum(batch.ids(), batch.labels());
                assertEquals(3, Checkpoint.pendingSegments(), "adapter on the head: checkpointed chunks");
                loss.backward();
                for (var p : net.trainableParameters()) assertTrue(p.tensor().grad().abs().amax().item() > 0, p.name());
            }
        }
    }

    @Test
    void aFrozenTiedHeadIsFused() throws Exception {
        try (Scope s = Scope.open(); LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("qwen2"), Device.CPU, DType.F64);
             LoraNetwork net = lora(m, DECODER); Scope r = Scope.open()) {
            Batch batch = fixtureBatch("qwen2");
            m.setLossChunkSize(5);
            Tensor loss = m.lossSum(batch.ids(), batch.labels());
            assertEquals(0, Checkpoint.pendingSegments(), "tied, frozen: fused");
            loss.backward();
        }
    }

    @Test
    void aTiedHeadWhoseWeightTrainsKeepsItsGradient() throws Exception {
        try (Scope s = Scope.open(); LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("qwen2"), Device.CPU, DType.F64);
             LoraNetwork net = lora(m, DECODER)) {
            m.model().embedTokens().weight().requiresGrad_(true);   // also the head's weight: the fused path must step aside
            Batch batch = fixtureBatch("qwen2");
            Run old = run(m, net, batch, false, false, 4);
            Run fused = run(m, net, batch, true, false, 4);
            assertEquals(old.loss(), fused.loss(), 0);
            assertEquals(0, relDiff(fused, old), 1e-15);
        }
    }

    @Test
    void withoutGradientsTheFusedLossIsThePlainOne() throws Exception {
        try (Scope s = Scope.open(); var ng = Autograd.noGrad();
             LlamaForCausalLM m = LlamaForCausalLM.load(LlmFixtures.dir("llama3"), Device.CPU, DType.F64)) {
            Batch batch = fixtureBatch("llama3");
            for (int chunk : new int[] {0, 3, 64}) {
                m.setLossChunkSize(chunk);
                m.setFusedLinearLoss(true);
                Tensor fused = m.lossSum(batch.ids(), batch.labels());
                assertTrue(!fused.requiresGrad());
                m.setFusedLinearLoss(false);
                assertEquals(m.lossSum(batch.ids(), batch.labels()).item(), fused.item(), 1e-13 * Math.abs(fused.item()), "chunk " + chunk);
            }
        }
    }

    @Test
    void aChunkHoldsAtMostAnEighthGibOfFloat32LogitsInWholeRowTiles() {
        // Llama 3's vocabulary: 1024 positions of one row would be 0.5 GiB; 261 fit 128 MiB, cut to 256 (two tiles of 128)
        assertEquals(256, LlamaForCausalLM.chunkPositions(1, 2047, 1024, 128256));
        assertTrue(261L * 128256 * 4 <= LlamaForCausalLM.CHUNK_LOGIT_BYTES && 262L * 128256 * 4 > LlamaForCausalLM.CHUNK_LOGIT_BYTES);
        // the batch's rows count too: 32 positions of 8 rows fit (256 rows); 4 rows of 65 fit, cut to 64 (256 rows)
        assertEquals(32, LlamaForCausalLM.chunkPositions(8, 2047, 1024, 128256));
        assertEquals(64, LlamaForCausalLM.chunkPositions(4, 2047, 1024, 128256));
        // 3 rows share no factor with 128: 87 positions fit and no smaller count makes whole tiles, so 87 stays
        assertEquals(87, LlamaForCausalLM.chunkPositions(3, 2047, 1024, 128256));
        // a small vocabulary keeps the asked size (not rounded), and a short sequence its length
        assertEquals(1000, LlamaForCausalLM.chunkPositions(1, 2047, 1000, 32000));
        assertEquals(11, LlamaForCausalLM.chunkPositions(2, 11, 1024, 32000));
        assertEquals(11, LlamaForCausalLM.chunkPositions(2, 11, 0, 32000));
        assertEquals(2047, LlamaForCausalLM.chunkPositions(1, 2047, 0, 1000));
        // never below one position, however large the vocabulary and batch
        assertEquals(1, LlamaForCausalLM.chunkPositions(4096, 2047, 1024, 1L << 20));
    }
}
