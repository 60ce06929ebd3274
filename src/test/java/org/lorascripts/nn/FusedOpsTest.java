package org.lorascripts.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * The hand-written backward formulas the fused CUDA kernels implement ({@link FusedOps}), written with tensor
 * ops, against autograd of the plain compositions on the CPU; and the CPU path of each op equals the plain one.
 */
class FusedOpsTest {
    private static double maxDiff(Tensor a, Tensor b) { return a.to(DType.F64).sub(b.to(DType.F64)).abs().amax().item(); }

    /**
     * The plain path takes 16-bit activations beside float32 norm weights (CPU autocast in bf16 over a float32 model,
     * which libtorch 1.13's CPU kernels refuse as a mix), computing in float32 as CUDA autocast runs norms.
     */
    @Test
    void normsTakeBf16ActivationsBesideFloat32Weights() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(5);
            Tensor x = Torch.randn(2, 8, 3, 3).to(DType.BF16);
            Tensor w = Torch.randn(8), b = Torch.randn(8);
            Tensor exact = Functional.groupNorm(x.to(DType.F32), 4, w, b, 1e-5).silu();
            try (org.lorascripts.tensor.Autocast ac = org.lorascripts.tensor.Autocast.enable(org.lorascripts.tensor.Device.Type.CPU, DType.BF16)) {
                Tensor y = FusedOps.groupNormSilu(x, 4, w, b, 1e-5);
                assertTrue(y.to(DType.F32).sub(exact).abs().amax().item() < 0.05, "group norm + SiLU in float32");
                Tensor seq = Torch.randn(2, 5, 8).to(DType.BF16);
                Tensor ln = FusedOps.layerNorm(seq, w, b, 1e-5);
                Tensor lnExact = Functional.layerNorm(seq.to(DType.F32), new long[] {8}, w, b, 1e-5);
                assertTrue(ln.to(DType.F32).sub(lnExact).abs().amax().item() < 0.05, "layer norm in float32");
            }
        }
    }

    @Test
    void rmsNormBackwardFormulaMatchesAutograd() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(1);
            Tensor x = Torch.randn(3, 5, 16).to(DType.F64).requiresGrad_(true);
            Tensor w = Torch.randn(16).to(DType.F64);
            Tensor g = Torch.randn(3, 5, 16).to(DType.F64);
            Functional.rmsNorm(x, w, 1e-6).mul(g).sum().backward();
            Tensor ref = FusedOps.rmsNormBackwardReference(g, x.detach(), w, 1e-6);
            assertTrue(maxDiff(ref, x.grad()) < 1e-6, "rmsnorm dx " + maxDiff(ref, x.grad()));
            Tensor x2 = x.detach().copy().requiresGrad_(true);
            Functional.rmsNorm(x2, null, 1e-6).mul(g).sum().backward();
            assertTrue(maxDiff(FusedOps.rmsNormBackwardReference(g, x.detach(), null, 1e-6), x2.grad()) < 1e-6);
        }
    }

    @Test
    void swigluBackwardFormulaMatchesAutograd() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(2);
            Tensor g = Torch.randn(4, 32).mul(3).to(DType.F64).requiresGrad_(true);
            Tensor u = Torch.randn(4, 32).to(DType.F64).requiresGrad_(true);
            Tensor dh = Torch.randn(4, 32).to(DType.F64);
            g.silu().mul(u).mul(dh).sum().backward();
            List<Tensor> ref = FusedOps.swigluBackwardReference(dh, g.detach(), u.detach());
            assertTrue(maxDiff(ref.get(0), g.grad()) < 1e-6, "dg " + maxDiff(ref.get(0), g.grad()));
            assertTrue(maxDiff(ref.get(1), u.grad()) < 1e-6, "du " + maxDiff(ref.get(1), u.grad()));
        }
    }

    @Test
    void ropeBackwardFormulaMatchesAutograd() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(3);
            long b = 2, h = 3, t = 5, d = 8;
            Tensor x = Torch.randn(b, t, h, d).to(DType.F64).transpose(1, 2).detach().requiresGrad_(true);
            Tensor ang = Torch.randn(b, t, d);
            Tensor cos = ang.cos().to(DType.F64), sin = ang.sin().to(DType.F64);
            Tensor dy = Torch.randn(b, h, t, d).to(DType.F64);
            FusedOps.plainRope(x, cos, sin).mul(dy).sum().backward();
            Tensor ref = FusedOps.ropeBackwardReference(dy, cos, sin);
            assertTrue(maxDiff(ref, x.grad()) < 1e-9, "rope dx " + maxDiff(ref, x.grad()));
        }
    }

    @Test
    void groupNormSiluBackwardFormulaMatchesAutograd() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(5);
            Tensor x = Torch.randn(2, 6, 4, 5).mul(2).add(0.5).to(DType.F64).requiresGrad_(true);
            Tensor w = Torch.randn(6).to(DType.F64), b = Torch.randn(6).to(DType.F64);
            Tensor dy = Torch.randn(2, 6, 4, 5).to(DType.F64);
            Functional.groupNorm(x, 3, w, b, 1e-5).silu().mul(dy).sum().backward();
            Tensor ref = FusedOps.groupNormSiluBackwardReference(dy, x.detach(), 3, w, b, 1e-5);
            assertTrue(maxDiff(ref, x.grad()) < 1e-9, "group norm + silu dx " + maxDiff(ref, x.grad()));
        }
    }

    @Test
    void gegluBackwardFormulaMatchesAutograd() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(6);
            Tensor p = Torch.randn(3, 5, 12).mul(2).to(DType.F64).requiresGrad_(true);
            Tensor dh = Torch.randn(3, 5, 6).to(DType.F64);
            List<Tensor> vg = p.chunk(2, -1);
            vg.get(0).mul(vg.get(1).gelu()).mul(dh).sum().backward();
            Tensor ref = FusedOps.gegluBackwardReference(dh, p.detach());
            assertTrue(maxDiff(ref, p.grad()) < 1e-9, "geglu dp " + maxDiff(ref, p.grad()));
        }
    }

    @Test
    void crossEntropyReferenceIsLibtorchsLossAndItsGradient() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(9);
            Tensor z = Torch.randn(6, 11).mul(3).to(DType.F64).requiresGrad_(true);
            Tensor labels = Torch.of(new long[] {0, 10, -100, 4, 4, 7}, 6);
            Functional.crossEntropy(z, labels, Functional.Reduction.SUM, -100, 0).backward();
            Tensor[] ref = FusedOps.crossEntropyRowsReference(z.detach(), labels);
            Tensor perRow = Functional.crossEntropy(z.detach(), labels, Functional.Reduction.NONE, -100, 0);
            assertTrue(maxDiff(ref[0], perRow) < 1e-12, "losses " + maxDiff(ref[0], perRow));
            assertTrue(maxDiff(ref[1], z.grad()) < 1e-12, "gradient " + maxDiff(ref[1], z.grad()));
            assertEquals(0.0, ref[0].narrow(0, 2, 1).item(), "an ignored row");
            assertEquals(DType.F64, ref[1].dtype(), "the gradient comes in the logits' dtype");
            assertEquals(null, FusedOps.crossEntropyRows(z.detach().to(DType.F32), labels, true), "no kernel on the CPU");
        }
    }

    /** The CPU never compiles the kernels: at least their names must match what the ops launch. */
    @Test
    void theSourceDefinesEveryKernelTheOpsLaunchAndNoOther() {
        String src = FusedOps.source();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("__global__ void (\\w+)\\(").matcher(src);
        List<String> defined = new java.util.ArrayList<>();
        while (m.find()) defined.add(m.group(1));
        assertEquals(FusedOps.KERNEL_NAMES.stream().sorted().toList(), defined.stream().sorted().toList());
    }

    @Test
    void onTheCpuEachOpIsThePlainComposition() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(4);
            Tensor x = Torch.randn(2, 4, 8).to(DType.BF16), w = Torch.randn(8).to(DType.BF16);
            assertArrayEquals(Functional.rmsNorm(x, w, 1e-5).to(DType.F32).toDoubleArray(), FusedOps.rmsNorm(x, w, 1e-5).to(DType.F32).toDoubleArray(), 0);
            Tensor g = Torch.randn(2, 8).to(DType.BF16), u = Torch.randn(2, 8).to(DType.BF16);
            assertArrayEquals(g.silu().mul(u).to(DType.F32).toDoubleArray(), FusedOps.swiglu(g, u).to(DType.F32).toDoubleArray(), 0);
            Tensor q = Torch.randn(1, 2, 3, 4), c = Torch.randn(1, 3, 4), sn = Torch.randn(1, 3, 4);
            assertArrayEquals(FusedOps.plainRope(q, c, sn).toDoubleArray(), FusedOps.rope(q, c, sn).toDoubleArray(), 0);
            Tensor im = Torch.randn(2, 4, 3, 3), gw = Torch.randn(4), gb = Torch.randn(4);
            assertArrayEquals(Functional.groupNorm(im, 2, gw, gb, 1e-5).silu().toDoubleArray(),
                    FusedOps.groupNormSilu(im, 2, gw, gb, 1e-5).toDoubleArray(), 0);
            Tensor pp = Torch.randn(2, 3, 8);
            List<Tensor> halves = pp.chunk(2, -1);
            assertArrayEquals(halves.get(0).mul(halves.get(1).gelu()).toDoubleArray(), FusedOps.geglu(pp).toDoubleArray(), 0);
        }
    }
}
