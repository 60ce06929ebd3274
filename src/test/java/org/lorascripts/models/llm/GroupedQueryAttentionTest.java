package org.lorascripts.models.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Grouped-query attention without repeated K/V heads (libtorch 2.5+, enable_gqa) gives what repeating each K/V head
 * for its group gives: the attention itself, forward and gradients (any device), and on CUDA a Llama with 2 KV heads
 * for 4 query heads, whose unmasked rows take that path while an explicit all-ones padding mask takes the repeating one.
 */
class GroupedQueryAttentionTest {

    private static double maxDiff(Tensor a, Tensor b) { return a.sub(b).abs().amax().item(); }

    @Test
    void matchesRepeatedHeadsForwardAndBackward() {
        assumeTrue(Functional.hasGroupedQueryAttention(), "libtorch before 2.5: no enable_gqa (the model repeats K/V heads)");
        try (Scope s = Scope.open()) {
            Rng.manualSeed(3);
            for (boolean causal : new boolean[] {true, false}) {
                Tensor q = Torch.randn(new long[] {2, 6, 5, 4}, DType.F64, Device.CPU);
                Tensor k = Torch.randn(new long[] {2, 2, 5, 4}, DType.F64, Device.CPU);
                Tensor v = Torch.randn(new long[] {2, 2, 5, 4}, DType.F64, Device.CPU);
                Tensor g = Torch.randn(new long[] {2, 6, 5, 4}, DType.F64, Device.CPU);
                List<List<Tensor>> r = new ArrayList<>();
                for (boolean gqa : new boolean[] {true, false}) {
                    Tensor ql = q.detach().copy().requiresGrad_(true), kl = k.detach().copy().requiresGrad_(true), vl = v.detach().copy().requiresGrad_(true);
                    Tensor o = gqa ? Functional.groupedQueryAttention(ql, kl, vl, 0, causal, 0.5)
                            : Functional.scaledDotProductAttention(ql, LlamaModel.Attention.repeatKv(kl, 3), LlamaModel.Attention.repeatKv(vl, 3), null, 0, causal, 0.5);
                    o.mul(g).sum().backward();
                    r.add(List.of(o.detach(), ql.grad(), kl.grad(), vl.grad()));
                }
                for (int i = 0; i < 4; i++) {
                    assertTrue(maxDiff(r.get(0).get(i), r.get(1).get(i)) < 1e-12, "causal=" + causal + " part " + i + ": " + maxDiff(r.get(0).get(i), r.get(1).get(i)));
                }
                assertTrue(r.get(0).get(2).abs().amax().item() > 0, "k gets a gradient");
            }
        }
    }

    /**
     * CUDA only (skipped elsewhere): a bf16 Llama with 2 KV heads for 4 query heads gives the same logits and LoRA
     * gradients with unmasked rows (the grouped-query kernel) as with an explicit all-ones padding mask (K/V heads
     * repeated), within bf16 rounding.
     */
    @Test
    void aLlamaOnCudaGivesTheSameLogitsAndLoraGradientsEitherWay() {
        assumeTrue(org.lorascripts.tensor.Cuda.isAvailable(), "no CUDA device");
        assumeTrue(Functional.hasGroupedQueryAttention(), "libtorch before 2.5");
        Device dev = Device.cuda(0);
        LlmConfig cfg = LlmConfig.llama(64, 256, 512, 2, 4, 2, 10000.0);   // head dim 64, as the flash kernel takes
        assertTrue(cfg.numKvHeads() < cfg.numHeads(), "grouped-query config");
        try (Scope s = Scope.open(); LlamaForCausalLM m = new LlamaForCausalLM(cfg, new RandomWeights(5).onDevice(), dev, DType.BF16);
             LoraNetwork lora = LoraNetwork.inject(m.loraHosts(), n -> Set.of("q_proj", "k_proj", "v_proj", "o_proj").contains(n.substring(n.lastIndexOf('.') + 1)),
                     LoraSpec.of(4, 4), dev)) {
            for (var a : lora.adapters().values()) a.up().detach().normal_(0, 0.1);
            Tensor ids = Torch.randint(0, 64, new long[] {2, 33}, dev);
            Tensor ones = Torch.ones(new long[] {2, 33}, DType.I64, dev);
            List<List<Tensor>> runs = new ArrayList<>();
            for (Tensor padding : new Tensor[] {null, ones}) {
                for (var p : lora.trainableParameters()) p.tensor().zeroGrad();
                List<Tensor> run = new ArrayList<>();
                try (org.lorascripts.tensor.Autocast ac = org.lorascripts.tensor.Autocast.enable(Device.Type.CUDA, DType.BF16)) {
                    Tensor logits = m.logits(ids, null, padding).to(DType.F32);
                    logits.pow(2).mean().backward();
                    run.add(logits.detach());
                }
                for (var p : lora.trainableParameters()) run.add(p.tensor().grad().detach().copy());
                runs.add(run);
            }
            for (int i = 0; i < runs.get(0).size(); i++) {
                Tensor a = runs.get(0).get(i).to(DType.F64), b = runs.get(1).get(i).to(DType.F64);
                double scale = Math.max(b.abs().amax().item(), 1e-6);
                assertTrue(maxDiff(a, b) / scale < 0.03, "tensor " + i + ": " + maxDiff(a, b) + " of " + scale);
            }
        }
    }
}
