package org.lorascripts.models.llm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.CudaKernel;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** CUDA only: a bf16 Llama LoRA step with the fused RMSNorm/RoPE/SwiGLU kernels against the plain path. */
class LlamaFusedKernelsCudaTest {
    @AfterEach
    void restore() { CudaKernel.setForcedOff(false); }

    @Test
    void lossAndLoraGradientsMatchThePlainPath() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        assertEquals("", CudaKernel.unavailableReason().orElse(""), "run-time kernels must work on a CUDA machine");
        Device dev = Device.cuda(0);
        LlmConfig cfg = LlmConfig.llama(256, 128, 352, 2, 4, 2, 10000.0);
        double[] loss = new double[2];
        List<List<double[]>> grads = new ArrayList<>();
        for (int run = 0; run < 2; run++) {
            CudaKernel.setForcedOff(run == 1);
            Rng.manualSeed(7);
            try (Scope s = Scope.open();
                 LlamaForCausalLM model = new LlamaForCausalLM(cfg, new RandomWeights(3).onDevice(), dev, DType.BF16);
                 LoraNetwork lora = LoraNetwork.inject(model.loraHosts(), n -> true, LoraSpec.of(8, 16), dev)) {
                lora.setTraining(true);
                // non-zero up weights so every LoRA weight gets a gradient
                for (NamedParam p : lora.trainableParameters()) {
                    try (var ng = org.lorascripts.tensor.Autograd.noGrad()) { p.tensor().copy_(Torch.randn(p.tensor().shape(), DType.F32, dev).mul(0.05)); }
                }
                Tensor ids = Torch.randint(0, 256, new long[] {2, 48}, dev);
                Tensor l;
                try (Autocast ac = Autocast.enable(Device.Type.CUDA, DType.BF16)) {
                    l = model.lossSum(ids, ids).div((double) LlamaForCausalLM.targetCount(ids));
                }
                l.backward();
                loss[run] = l.item();
                List<double[]> g = new ArrayList<>();
                for (NamedParam p : lora.trainableParameters()) g.add(p.tensor().grad().to(DType.F64).toDoubleArray());
                grads.add(g);
            }
        }
        assertTrue(Math.abs(loss[0] - loss[1]) < 0.02 * Math.abs(loss[1]), "loss fused " + loss[0] + " vs plain " + loss[1]);
        for (int i = 0; i < grads.get(0).size(); i++) {
            double[] a = grads.get(0).get(i), b = grads.get(1).get(i);
            double max = 0, diff = 0;
            for (int j = 0; j < a.length; j++) { max = Math.max(max, Math.abs(b[j])); diff = Math.max(diff, Math.abs(a[j] - b[j])); }
            assertTrue(max > 0, "LoRA weight " + i + " got a gradient");
            assertTrue(diff <= 0.05 * max, "LoRA weight " + i + ": gradients differ by " + diff + " of max " + max);
        }
    }
}
