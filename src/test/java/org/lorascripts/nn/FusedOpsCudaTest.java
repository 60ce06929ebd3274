package org.lorascripts.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.CudaGraph;
import org.lorascripts.tensor.CudaKernel;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * CUDA only (skipped elsewhere): each run-time compiled kernel against the plain libtorch path it replaces,
 * forward and backward, in bf16, fp16 and fp32; NF4 dequantisation bit for bit; a fused op inside a CUDA graph.
 */
class FusedOpsCudaTest {
    private static final Device DEV = Device.cuda(0);
    private static final List<DType> DTYPES = List.of(DType.BF16, DType.F16, DType.F32);

    @AfterEach
    void restore() { CudaKernel.setForcedOff(false); }

    private static void requireKernels() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        assertEquals("", CudaKernel.unavailableReason().orElse(""), "run-time kernels must work on a CUDA machine");
    }

    /** Tolerance: a few units in the last place of the dtype at magnitude ~1-4. */
    private static double tol(DType d) { return d == DType.BF16 ? 0.07 : d == DType.F16 ? 8e-3 : 2e-5; }

    private static double maxDiff(Tensor a, Tensor b) { return a.to(DType.F64).sub(b.to(DType.F64)).abs().amax().item(); }

    /** Runs f on fresh leaf copies of the inputs with kernels on and off; returns {out, grads...} for both. */
    private static List<List<Tensor>> both(List<Tensor> inputs, Tensor gradOut, Function<List<Tensor>, Tensor> f) {
        List<List<Tensor>> r = new java.util.ArrayList<>();
        for (boolean off : new boolean[] {false, true}) {
            CudaKernel.setForcedOff(off);
            List<Tensor> leaves = inputs.stream().map(t -> t.detach().copy().requiresGrad_(true)).toList();
            Tensor out = f.apply(leaves);
            out.backward(gradOut, false);
            List<Tensor> res = new java.util.ArrayList<>();
            res.add(out.detach());
            for (Tensor l : leaves) res.add(l.grad());
            r.add(res);
        }
        CudaKernel.setForcedOff(false);
        return r;
    }

    private static void assertClose(List<List<Tensor>> r, DType dt, String what) {
        for (int i = 0; i < r.get(0).size(); i++) {
            double d = maxDiff(r.get(0).get(i), r.get(1).get(i));
            assertTrue(d <= tol(dt), what + " " + dt + " output/grad " + i + " differs by " + d);
        }
    }

    @Test
    void rmsNormMatchesThePlainPath() {
        requireKernels();
        for (DType dt : DTYPES) {
            try (Scope s = Scope.open()) {
                Rng.manualSeed(1);
                Tensor x = Torch.randn(new long[] {3, 17, 1000}, DType.F32, DEV).mul(2).to(dt);
                Tensor w = Torch.randn(new long[] {1000}, DType.F32, DEV).to(dt);
                Tensor g = Torch.randn(new long[] {3, 17, 1000}, DType.F32, DEV).to(dt);
                assertTrue(FusedOps.usableFor("rms_fwd", x), "the kernel compiles and loads");
                assertClose(both(List.of(x), g, in -> FusedOps.rmsNorm(in.get(0), w, 1e-5)), dt, "rmsnorm");
                assertClose(both(List.of(x), g, in -> FusedOps.rmsNorm(in.get(0), null, 1e-6)), dt, "rmsnorm without weight");
            }
        }
    }

    private static void assertRebuildsItsBits(Tensor y, String what) {
        org.lorascripts.tensor.Rebuild r = y.rebuild();
        assertNotNull(r, what + ": the output is rebuildable");
        Tensor again;
        try (var ng = org.lorascripts.tensor.Autograd.noGrad()) {
            again = r.make().apply(r.sources());
        }
        assertArrayEquals(y.shape(), again.shape());
        assertTrue(y.detach().eq(again).all().item() > 0, what + ": the rebuilt output differs");
    }

    /** A norm's or gated product's rebuild recipe (what a LoRA down projection saves instead of its input) gives the same bits. */
    @Test
    void normAndGatedOutputsRebuildBitForBit() {
        requireKernels();
        for (DType dt : DTYPES) {
            try (Scope s = Scope.open()) {
                Rng.manualSeed(4);
                Tensor x = Torch.randn(new long[] {3, 17, 1024}, DType.F32, DEV).mul(2).to(dt).requiresGrad_(true);
                Tensor w = Torch.randn(new long[] {1024}, DType.F32, DEV).to(dt);
                Tensor b = Torch.randn(new long[] {1024}, DType.F32, DEV).to(dt);
                Tensor p = Torch.randn(new long[] {3, 17, 2048}, DType.F32, DEV).to(dt).requiresGrad_(true);
                assertRebuildsItsBits(FusedOps.rmsNorm(x, w, 1e-5), "rms norm " + dt);
                assertRebuildsItsBits(FusedOps.layerNorm(x, w, b, 1e-5), "layer norm " + dt);
                assertRebuildsItsBits(FusedOps.swiglu(p.narrow(-1, 0, 1024), p.narrow(-1, 1024, 1024)), "swiglu " + dt);
                assertRebuildsItsBits(FusedOps.geglu(p), "geglu " + dt);
            }
        }
    }

    @Test
    void swigluMatchesThePlainPath() {
        requireKernels();
        for (DType dt : DTYPES) {
            try (Scope s = Scope.open()) {
                Rng.manualSeed(2);
                for (long[] shape : new long[][] {{2, 33, 700}, {3, 7, 11}}) {   // 16-byte vectors; a scalar tail
                    Tensor g = Torch.randn(shape, DType.F32, DEV).mul(3).to(dt);
                    Tensor u = Torch.randn(shape, DType.F32, DEV).to(dt);
                    Tensor d = Torch.randn(shape, DType.F32, DEV).to(dt);
                    assertClose(both(List.of(g, u), d, in -> FusedOps.swiglu(in.get(0), in.get(1))), dt, "swiglu " + java.util.Arrays.toString(shape));
                }
            }
        }
    }

    @Test
    void gegluMatchesThePlainPath() {
        requireKernels();
        for (DType dt : DTYPES) {
            try (Scope s = Scope.open()) {
                Rng.manualSeed(8);
                Tensor p = Torch.randn(new long[] {2, 77, 640}, DType.F32, DEV).mul(2).to(dt);
                Tensor d = Torch.randn(new long[] {2, 77, 320}, DType.F32, DEV).to(dt);
                assertClose(both(List.of(p), d, in -> FusedOps.geglu(in.get(0))), dt, "geglu");
            }
        }
    }

    @Test
    void ropeMatchesThePlainPathOnProjectionLayouts() {
        requireKernels();
        for (DType dt : DTYPES) {
            try (Scope s = Scope.open()) {
                Rng.manualSeed(3);
                for (long d : new long[] {64, 12}) {   // vectors of pairs; scalar pairs (half = 6)
                long b = 2, t = 37, h = 4;
                Tensor ang = Torch.randn(new long[] {b, t, d}, DType.F32, DEV).mul(3);
                Tensor cos = ang.cos().to(dt), sin = ang.sin().to(dt);
                Tensor proj = Torch.randn(new long[] {b, t, h * d}, DType.F32, DEV).to(dt);
                Tensor dy = Torch.randn(new long[] {b, h, t, d}, DType.F32, DEV).to(dt);
                // as the attention does: (B, T, H*D) -> view (B, T, H, D) -> transpose (B, H, T, D)
                assertClose(both(List.of(proj), dy, in -> FusedOps.rope(in.get(0).view(b, t, h, d).transpose(1, 2), cos, sin)), dt, "rope");
                // a contiguous (B, H, T, D) input and cos/sin broadcast from batch 1
                Tensor x = Torch.randn(new long[] {b, h, t, d}, DType.F32, DEV).to(dt);
                Tensor c1 = cos.narrow(0, 0, 1), s1 = sin.narrow(0, 0, 1);
                assertClose(both(List.of(x), dy, in -> FusedOps.rope(in.get(0), c1, s1)), dt, "rope (contiguous, batch-1 tables)");
                }
            }
        }
    }

    @Test
    void groupAndLayerNormMatchThePlainPathWithAndWithoutAutocast() {
        requireKernels();
        // {x dtype, weight dtype, autocast dtype or null}
        DType[][] cases = {{DType.F16, DType.F16, DType.F16}, {DType.F32, DType.F32, DType.F16}, {DType.BF16, DType.BF16, null},
            {DType.F32, DType.F32, null}, {DType.F16, DType.F32, DType.F16}};
        for (DType[] cs : cases) {
            for (long[] shape : new long[][] {{2, 64, 16, 16}, {3, 96, 5, 7}, {37, 320, 1, 1}})
            for (boolean silu : new boolean[] {true, false}) {
                if (shape[2] == 1 && silu) continue;   // (rows, C, 1, 1) without silu: the layer norm path
                try (Scope s = Scope.open()) {
                    Rng.manualSeed(6);
                    Tensor x = Torch.randn(shape, DType.F32, DEV).mul(1.5).add(0.3).to(cs[0]);
                    Tensor w = Torch.randn(new long[] {shape[1]}, DType.F32, DEV).to(cs[1]);
                    Tensor b = Torch.randn(new long[] {shape[1]}, DType.F32, DEV).to(cs[1]);
                    Tensor g = Torch.randn(shape, DType.F32, DEV);
                    double[][] out = new double[2][], grad = new double[2][];
                    for (int run = 0; run < 2; run++) {
                        CudaKernel.setForcedOff(run == 1);
                        Tensor leaf = x.detach().copy().requiresGrad_(true);
                        Tensor y;
                        try (var ac = cs[2] == null ? null : org.lorascripts.tensor.Autocast.enable(Device.Type.CUDA, cs[2])) {
                            y = silu ? FusedOps.groupNormSilu(leaf, 8, w, b, 1e-5)
                                    : (shape[2] == 1 && shape[3] == 1 ? FusedOps.layerNorm(leaf.view(shape[0], shape[1]), w, b, 1e-5).view(shape)
                                    : FusedOps.groupNorm(leaf, 8, w, b, 1e-5, false));
                        }
                        if (cs[2] != null && run == 0) assertEquals(cs[2], y.dtype(), "under autocast the fused output is in autocast's dtype");
                        y.to(DType.F32).mul(g).sum().backward();
                        out[run] = y.to(DType.F64).toDoubleArray();
                        grad[run] = leaf.grad().to(DType.F64).toDoubleArray();
                    }
                    CudaKernel.setForcedOff(false);
                    DType lowest = cs[2] != null ? cs[2] : cs[0];
                    String what = java.util.Arrays.toString(cs) + " " + java.util.Arrays.toString(shape) + (silu ? " silu" : "");
                    assertTrue(maxAbs(out[0], out[1]) <= tol(lowest), "group norm + silu " + what + " output differs by " + maxAbs(out[0], out[1]));
                    // with a half-precision output the incoming gradient is rounded to it too (as a convolution's would be)
                    assertTrue(maxAbs(grad[0], grad[1]) <= 4 * tol(lowest), what + " dx differs by " + maxAbs(grad[0], grad[1]));
                }
            }
        }
    }

    private static double maxAbs(double[] a, double[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    @Test
    void nf4DequantisationIsBitExact() {
        requireKernels();
        for (long[] shape : new long[][] {{64, 128}, {3, 101}, {300, 257}}) {
            try (Scope s = Scope.open()) {
                Rng.manualSeed(4);
                Tensor w = Torch.randn(shape, DType.F32, DEV).mul(0.05);
                Nf4.Quantized q = Nf4.quantize(w);
                for (DType dt : DTYPES) {
                    CudaKernel.setForcedOff(false);
                    Tensor fused = Nf4.dequantize(q, dt);
                    CudaKernel.setForcedOff(true);
                    Tensor plain = Nf4.dequantize(q, dt);
                    CudaKernel.setForcedOff(false);
                    assertArrayEquals(plain.to(DType.F32).toDoubleArray(), fused.to(DType.F32).toDoubleArray(), 0,
                            "NF4 " + java.util.Arrays.toString(shape) + " " + dt);
                }
            }
        }
    }

    @Test
    void aFusedOpReplaysInsideACudaGraph() {
        requireKernels();
        assumeTrue(CudaGraph.isAvailable());
        try (Tensor x = Torch.randn(new long[] {8, 256}, DType.F32, DEV).to(DType.BF16).keep();
             Tensor w = Torch.randn(new long[] {256}, DType.F32, DEV).to(DType.BF16).keep();
             Tensor y = Torch.zeros(new long[] {8, 256}, DType.BF16, DEV).keep()) {
            Runnable body = () -> { try (Scope s = Scope.open()) { y.copy_(FusedOps.rmsNorm(x, w, 1e-5)); } };
            try (CudaGraph g = CudaGraph.capture(DEV, 1, body)) {
                try (Scope s = Scope.open()) { x.copy_(Torch.randn(new long[] {8, 256}, DType.F32, DEV).to(DType.BF16)); }
                g.replay();
                try (Scope s = Scope.open()) {
                    CudaKernel.setForcedOff(true);
                    Tensor plain = FusedOps.rmsNorm(x, w, 1e-5);
                    assertTrue(maxDiff(plain, y) <= tol(DType.BF16), "replayed result differs by " + maxDiff(plain, y));
                }
            }
        }
    }

    @Test
    void crossEntropyRowsMatchThePlainCompositionAndWriteItsGradient() {
        requireKernels();
        for (DType dt : DTYPES) {
            for (long v : new long[] {1003, 4096}) {      // scalar rows, vector rows
                try (Scope s = Scope.open()) {
                    Rng.manualSeed(11);
                    int rows = 37;
                    Tensor logits = Torch.randn(new long[] {rows, v}, DType.F32, DEV).mul(4).to(dt);
                    long[] lab = new long[rows];
                    for (int i = 0; i < rows; i++) lab[i] = i % 5 == 3 ? -100 : (i * 7919L) % v;
                    Tensor labels = Torch.of(lab, rows).to(DEV);
                    // the plain composition of LlamaForCausalLM's fused loss, in float32 (held against libtorch's
                    // cross-entropy and autograd by FusedOpsTest)
                    Tensor[] plain = FusedOps.crossEntropyRowsReference(logits, labels);
                    Tensor plainLoss = plain[0], plainGrad = plain[1];

                    Tensor kept = logits.copy();
                    Tensor lossOnly = FusedOps.crossEntropyRows(kept, labels, false);
                    assertNotNull(lossOnly, "the kernel runs for " + dt);
                    assertEquals(0.0, maxDiff(kept, logits), "without the gradient the logits stay");
                    Tensor g = logits.copy();
                    Tensor loss = FusedOps.crossEntropyRows(g, labels, true);
                    double scale = plainLoss.abs().amax().item();
                    String what = dt + " V=" + v;
                    assertTrue(maxDiff(loss, plainLoss) <= 2e-6 * scale, what + ": losses differ by " + maxDiff(loss, plainLoss));
                    assertEquals(0.0, maxDiff(loss, lossOnly), what);
                    assertEquals(0.0, loss.narrow(0, 3, 1).item(), what + ": an ignored row adds nothing");
                    assertEquals(0.0, g.narrow(0, 3, 1).abs().amax().item(), what + ": an ignored row has no gradient");
                    // one rounding of the same float32 value, up to the sum's order: at most one unit in the last place near 1
                    double ulp = dt == DType.BF16 ? 1.0 / 128 : dt == DType.F16 ? 1.0 / 1024 : 1e-6;
                    assertTrue(maxDiff(g, plainGrad) <= ulp, what + ": gradients differ by " + maxDiff(g, plainGrad));
                    assertTrue(g.to(DType.F32).sum(new long[] {1}, false).abs().amax().item() < 0.05, what + ": softmax - one-hot sums to 0");
                }
            }
        }
        try (Scope s = Scope.open()) {
            Tensor logits = Torch.randn(new long[] {2, 64}, DType.F32, DEV).to(DType.BF16);
            Tensor loss = FusedOps.crossEntropyRows(logits, Torch.of(new long[] {64, 1}, 2).to(DEV), true);
            assertTrue(Double.isNaN(loss.narrow(0, 0, 1).item()), "a label outside the vocabulary shows as NaN");
            assertTrue(Double.isFinite(loss.narrow(0, 1, 1).item()));
            assertNull(FusedOps.crossEntropyRows(Torch.randn(2, 64), Torch.of(new long[] {1, 1}, 2), false), "the CPU takes the plain path");
        }
    }
}
