package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * A plain LoRA adds its low-rank term to the host's output in one fused step (addmm for linear hosts, a scaled
 * add for convolutions): the host's output and the adapter's gradients are those of the composition
 * y + up(down(x)) · scale · multiplier, with and without dropout's mask fixed, under autocast in its dtype.
 */
class LoraAddPathTest {

    private static double maxDiff(Tensor a, Tensor b) { return a.to(DType.F64).sub(b.to(DType.F64)).abs().amax().item(); }

    @Test
    void linearAndConvHostsMatchTheComposition() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(7), Device.CPU, DType.F64)) {
            Linear fc = new Linear(w.pp("fc"), 6, 5, true);
            Linear noBias = new Linear(w.pp("nb"), 6, 4, false);
            Conv2d conv = new Conv2d(w.pp("conv"), 6, 3, 1, 1, 0, true);
            Rng.manualSeed(3);
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, LoraSpec.of(2, 3), Device.CPU)) {
                for (LoraAdapter a : net.adapters().values()) a.up().detach().normal_(0, 0.5);
                net.adapters().get("fc").setMultiplier(0.7);
                List<Tensor> inputs = List.of(Torch.randn(new long[] {2, 3, 6}, DType.F64, Device.CPU), Torch.randn(new long[] {4, 6}, DType.F64, Device.CPU),
                        Torch.randn(new long[] {6}, DType.F64, Device.CPU));
                for (Tensor x : inputs) {
                    check("fc", net, x, fc.forward(x), Functional.linear(x, fc.weight(), fc.bias()));
                    check("nb", net, x, noBias.forward(x), Functional.linear(x, noBias.weight(), null));
                }
                Tensor img = Torch.randn(new long[] {2, 6, 3, 4}, DType.F64, Device.CPU);
                check("conv", net, img, conv.forward(img), Functional.conv2d(img, conv.weight(), conv.bias(), 1, 0, 1));
            }
        }
    }

    // the host's output and the adapter's gradients against y + apply(x)
    private static void check(String name, LoraNetwork net, Tensor x, Tensor out, Tensor y) {
        LoraAdapter a = net.adapters().get(name);
        Tensor expected = y.add(a.apply(x));
        assertTrue(maxDiff(out, expected) < 1e-12, name + " " + java.util.Arrays.toString(x.shape()) + ": " + maxDiff(out, expected));
        assertTrue(a.apply(x).abs().amax().item() > 1e-3, "the adapter changes the output");
        Tensor g = Torch.randn(out.shape(), DType.F64, Device.CPU);
        double[][] grads = new double[2][];
        for (int k = 0; k < 2; k++) {
            a.down().zeroGrad();
            a.up().zeroGrad();
            (k == 0 ? out : expected).mul(g).sum().backward();
            assertNotNull(a.up().grad());
            grads[k] = a.down().grad().flatten().to(DType.F64).toDoubleArray();
            double[] up = a.up().grad().flatten().to(DType.F64).toDoubleArray();
            double[] both = new double[grads[k].length + up.length];
            System.arraycopy(grads[k], 0, both, 0, grads[k].length);
            System.arraycopy(up, 0, both, grads[k].length, up.length);
            grads[k] = both;
        }
        for (int i = 0; i < grads[0].length; i++) assertEquals(grads[1][i], grads[0][i], 1e-9, name + " gradient " + i);
    }

    @Test
    void underAutocastTheSumIsInTheAutocastDtype() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(8), Device.CPU, DType.F32)) {
            Linear fc = new Linear(w.pp("fc"), 16, 12, true);
            Rng.manualSeed(4);
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, LoraSpec.of(4, 4), Device.CPU)) {
                LoraAdapter a = net.adapters().get("fc");
                a.up().detach().normal_(0, 0.5);
                Tensor x = Torch.randn(new long[] {3, 5, 16}, DType.F32, Device.CPU);
                Tensor exact = Functional.linear(x, fc.weight(), fc.bias()).add(a.apply(x));
                try (Autocast ac = Autocast.enable(Device.Type.CPU, DType.BF16)) {
                    Tensor out = fc.forward(x);
                    assertEquals(DType.BF16, out.dtype());
                    assertTrue(maxDiff(out, exact) < 0.1, "within bf16 rounding: " + maxDiff(out, exact));
                    out.to(DType.F32).sum().backward();
                }
                assertEquals(DType.F32, a.up().grad().dtype(), "fp32 master weights get fp32 gradients");
            }
        }
    }
}
