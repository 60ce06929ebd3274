package org.lorascripts.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * CUDA only (skipped elsewhere): fp8 and 4-bit frozen layers in fp16 on the GPU: outputs and input gradients as over
 * their dense copies, and what a forward leaves allocated for backward is its output alone (no dense weight, no input).
 */
class FrozenProductCudaTest {
    private static final Device DEV = Device.cuda(0);

    private static long allocated() {
        Cuda.synchronize(0);
        return Cuda.memory(0).orElseThrow().allocated();
    }

    private static double maxRelDiff(Tensor a, Tensor b) {
        try (Scope s = Scope.open()) {
            double scale = b.to(DType.F32).abs().amax().item();
            return a.to(DType.F32).sub(b.to(DType.F32)).abs().amax().item() / Math.max(scale, 1e-12);
        }
    }

    @Test
    void fp8AndNf4LinearsKeepOnlyTheirOutputForBackward() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        assumeTrue(DType.F8E4M3.available(), "libtorch without float8");
        for (String kind : new String[] {"fp8", "nf4"}) {
            Rng.manualSeed(1);
            try (Weights w = new Weights(new RandomWeights(4).onDevice(), DEV, DType.F16); Scope s = Scope.open()) {
                if (kind.equals("fp8")) w.setFp8Base(true); else w.setLoadIn4bit(true);
                LinearLayer l = LinearLayer.load(w.pp("proj"), 4096, 4096, false);
                assertTrue(l.quantized(), kind);
                Tensor x = Torch.randn(new long[] {4096, 4096}, DType.F16, DEV).requiresGrad_(true);
                long before = allocated();
                Tensor xi = x.mul(1.0);   // a non-leaf input: freed with its handle unless the product saved it
                Tensor y = l.forward(xi);
                xi.close();
                long kept = allocated() - before;
                long out = y.numel() * 2;
                assertEquals(out, kept, 1 << 20, kind + ": " + kept + " bytes kept after the forward, the output is " + out);
                Tensor g = Torch.randn(y.shape(), DType.F16, DEV);
                y.backward(g, false);
                Tensor dense = l.weight();
                Tensor x2 = x.detach().requiresGrad_(true);
                Tensor y2 = Functional.linear(x2, dense, null);
                y2.backward(g, false);
                assertTrue(maxRelDiff(y, y2) < 1e-3, kind + " output");
                assertTrue(maxRelDiff(x.grad(), x2.grad()) < 1e-3, kind + " input gradient");
            }
        }
    }

    @Test
    void anFp8ConvolutionKeepsOnlyItsOutputForBackward() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        assumeTrue(DType.F8E4M3.available(), "libtorch without float8");
        Rng.manualSeed(2);
        try (Weights w = new Weights(new RandomWeights(5).onDevice(), DEV, DType.F16); Scope s = Scope.open()) {
            w.setFp8Base(true);
            Conv2d c = new Conv2d(w.pp("conv"), 640, 640, 3, 2, 1, true);
            Tensor x = Torch.randn(new long[] {2, 640, 65, 64}, DType.F16, DEV).requiresGrad_(true);
            long before = allocated();
            Tensor xi = x.mul(1.0);   // a non-leaf input: freed with its handle unless the product saved it
            Tensor y = c.forward(xi);
            xi.close();
            long kept = allocated() - before;
            assertEquals(y.numel() * 2, kept, 1 << 20, kept + " bytes kept after the forward");
            Tensor g = Torch.randn(y.shape(), DType.F16, DEV);
            y.backward(g, false);
            Tensor x2 = x.detach().requiresGrad_(true);
            Tensor y2 = Functional.conv2d(x2, c.weight(), c.bias(), 2, 1, 1);
            y2.backward(g, false);
            assertTrue(maxRelDiff(y, y2) < 1e-3, "output");
            assertTrue(maxRelDiff(x.grad(), x2.grad()) < 1e-3, "input gradient");
        }
    }
}
