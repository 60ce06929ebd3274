package org.lorascripts.train.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.lorascripts.train.optim.ReferenceAdamW.B1;
import static org.lorascripts.train.optim.ReferenceAdamW.B2;
import static org.lorascripts.train.optim.ReferenceAdamW.EPS;
import static org.lorascripts.train.optim.ReferenceAdamW.WD;
import static org.lorascripts.train.optim.ReferenceAdamW.grad;
import static org.lorascripts.train.optim.ReferenceAdamW.values;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.nn.NamedParam;

/**
 * The CUDA path (the fused kernel on libtorch >= 2.2) against the same formula, and an inf step
 * skipped on the device through the grad scaler. Skipped where there is no GPU.
 */
class AdamWCudaTest {
    private static final Device GPU = Device.cuda(0);

    private static void setGrad(Tensor p, float[] g, double factor) {
        try (Scope s = Scope.open()) {
            p.setGrad(Torch.of(g, p.shape()).mul(factor).to(GPU));
        }
    }

    @Test
    void cudaStepsMatchTheFormulaAndSkipInfSteps() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        try (Scope s = Scope.open()) {
            float[] a0 = values(6, 1), b0 = values(5, 2);
            Tensor a = Torch.of(a0, 2, 3).to(GPU).requiresGrad_(true);
            Tensor b = Torch.of(b0, 5).to(GPU).requiresGrad_(true);
            ReferenceAdamW ra = new ReferenceAdamW(a0), rb = new ReferenceAdamW(b0);
            double[] lrs = {0.1, 0.05, 0.02};
            try (AdamW opt = new AdamW(List.of(new NamedParam("a", a), new NamedParam("b", b)), B1, B2, EPS, WD);
                 GradScaler scaler = GradScaler.enabled(GPU)) {
                for (int t = 1; t <= 3; t++) {
                    opt.zeroGrad();
                    setGrad(a, grad(6, 0, t), 1);
                    setGrad(b, grad(5, 1, t), 1);
                    opt.step(lrs[t - 1]);
                    ra.step(grad(6, 0, t), lrs[t - 1]);
                    rb.step(grad(5, 1, t), lrs[t - 1]);
                }
                float[] af = a.toFloatArray(), bf = b.toFloatArray();
                for (int i = 0; i < af.length; i++) assertEquals(ra.p[i], af[i], 2e-6, "a[" + i + "]");
                for (int i = 0; i < bf.length; i++) assertEquals(rb.p[i], bf[i], 2e-6, "b[" + i + "]");

                float[] bad = grad(6, 0, 4);
                bad[2] = Float.POSITIVE_INFINITY;
                setGrad(a, bad, scaler.scaleValue());
                setGrad(b, grad(5, 1, 4), scaler.scaleValue());
                assertFalse(scaler.step(opt, 0.1));
                scaler.update();
                assertArrayEquals(af, a.toFloatArray(), "a skipped step leaves a unchanged");
                assertArrayEquals(bf, b.toFloatArray(), "and b, whose own grads were finite");
                assertEquals(3.0, opt.stateDict().get("a.step").item(), "a skipped step does not advance the count");
                assertEquals(32768.0, scaler.scaleValue());

                setGrad(a, grad(6, 0, 4), scaler.scaleValue());
                setGrad(b, grad(5, 1, 4), scaler.scaleValue());
                assertTrue(scaler.step(opt, 0.05));
                ra.step(grad(6, 0, 4), 0.05);
                af = a.toFloatArray();
                for (int i = 0; i < af.length; i++) assertEquals(ra.p[i], af[i], 2e-6, "a[" + i + "] after the scaled step");
            }
        }
    }

    @Test
    void theDeviceOnlyStepEqualsThePlainStepAndSkipsOnTheFlag() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        try (Scope s = Scope.open()) {
            float[] a0 = values(6, 1), b0 = values(5, 2);
            Tensor a = Torch.of(a0, 2, 3).to(GPU).requiresGrad_(true), a2 = Torch.of(a0, 2, 3).to(GPU).requiresGrad_(true);
            Tensor b = Torch.of(b0, 5).to(GPU).requiresGrad_(true), b2 = Torch.of(b0, 5).to(GPU).requiresGrad_(true);
            try (AdamW plain = new AdamW(List.of(new NamedParam("a", a), new NamedParam("b", b, 4.0)), B1, B2, EPS, WD);
                 AdamW device = new AdamW(List.of(new NamedParam("a", a2), new NamedParam("b", b2, 4.0)), B1, B2, EPS, WD)) {
                assumeTrue(device.stepsOnDevice(), "libtorch without the tensor-lr fused kernel");
                Tensor lr = Torch.zeros(new long[0], org.lorascripts.tensor.DType.F32, GPU);
                Tensor inf = Torch.zeros(new long[0], org.lorascripts.tensor.DType.F32, GPU);
                double[] lrs = {0.1, 0.05, 0.02, 0.01};
                for (int t = 1; t <= 4; t++) {
                    boolean skip = t == 3;
                    for (Tensor p : List.of(a, a2)) setGrad(p, grad(6, 0, t), 1);
                    for (Tensor p : List.of(b, b2)) setGrad(p, grad(5, 1, t), 1);
                    if (!skip) plain.step(lrs[t - 1]);
                    lr.fill_(lrs[t - 1]);
                    inf.fill_(skip ? 1 : 0);
                    device.stepOnDevice(lr, inf);
                }
                assertArrayEquals(a.toFloatArray(), a2.toFloatArray(), 1e-6f);
                assertArrayEquals(b.toFloatArray(), b2.toFloatArray(), 1e-6f);
                assertEquals(plain.stateDict().get("b.step").item(), device.stateDict().get("b.step").item(), "a skipped step does not count");
            }
        }
    }
}
