package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * kohya's network_dropout, rank_dropout and module_dropout (networks.lora's LoRAModule.forward): the host's output
 * while training is y + up(mask(down(x))) · scale · multiplier as kohya computes it, with the masks drawn from the
 * generator the test seeds; off while not training.
 */
class LoraKohyaDropoutTest {
    private static double maxDiff(Tensor a, Tensor b) { return a.to(DType.F64).sub(b.to(DType.F64)).abs().amax().item(); }

    private static LoraNetwork net(Weights w, double neuron, double rank, double module) {
        LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, new LoraSpec(4, 8, 0, 4, 8, false), Device.CPU);
        for (LoraAdapter a : net.adapters().values()) a.up().detach().normal_(0, 0.5);
        net.setKohyaDropouts(neuron, rank, module);
        net.setTraining(true);
        return net;
    }

    /** up(h) for the adapter's host kind, in h's dtype. */
    private static Tensor up(LoraAdapter a, Tensor h, boolean conv) {
        Tensor u = a.up().to(h.dtype());
        return conv ? Functional.conv2d(h, u, null, 1, 0, 1) : Functional.linear(h, u, null);
    }

    private static Tensor down(LoraAdapter a, Tensor x, boolean conv) {
        Tensor d = a.down().to(x.dtype());
        return conv ? Functional.conv2d(x, d, null, 1, 1, 1) : Functional.linear(x, d, null);
    }

    @Test
    void neuronDropoutDropsTheRankHiddenNotTheInput() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(1), Device.CPU, DType.F64)) {
            Linear fc = new Linear(w.pp("fc"), 16, 12, true);
            Rng.manualSeed(2);
            try (LoraNetwork net = net(w, 0.5, 0, 0)) {
                LoraAdapter a = net.adapters().get("fc");
                Tensor x = Torch.randn(new long[] {3, 5, 16}, DType.F64, Device.CPU);
                Rng.manualSeed(7);
                Tensor out = fc.forward(x);
                Rng.manualSeed(7);
                Tensor expected = Functional.linear(x, fc.weight(), fc.bias()).add(up(a, Functional.dropout(down(a, x, false), 0.5, true), false).mul(a.scale()));
                assertTrue(maxDiff(out, expected) < 1e-12, "kohya's lx = dropout(lora_down(x)): " + maxDiff(out, expected));
                Tensor full = Functional.linear(x, fc.weight(), fc.bias()).add(up(a, down(a, x, false), false).mul(a.scale()));
                assertTrue(maxDiff(out, full) > 1e-3, "the dropout changed nothing");
                net.setTraining(false);
                assertTrue(maxDiff(fc.forward(x), full) < 1e-12, "no dropout outside training");
            }
        }
    }

    @Test
    void rankDropoutMasksRanksPerExampleAndRescales() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(3), Device.CPU, DType.F64)) {
            Linear fc = new Linear(w.pp("fc"), 16, 12, false);
            Conv2d conv = new Conv2d(w.pp("conv"), 6, 5, 3, 1, 1, false);
            Rng.manualSeed(4);
            try (LoraNetwork net = net(w, 0, 0.5, 0)) {
                Tensor tokens = Torch.randn(new long[] {6, 5, 16}, DType.F64, Device.CPU);
                Tensor pooled = Torch.randn(new long[] {6, 16}, DType.F64, Device.CPU);
                Tensor image = Torch.randn(new long[] {6, 6, 4, 4}, DType.F64, Device.CPU);
                for (Tensor x : List.of(tokens, pooled, image)) {
                    boolean isConv = x == image;
                    LoraAdapter a = net.adapters().get(isConv ? "conv" : "fc");
                    Tensor y = isConv ? Functional.conv2d(x, conv.weight(), null, 1, 1, 1) : Functional.linear(x, fc.weight(), null);
                    Rng.manualSeed(9);
                    Tensor out = isConv ? conv.forward(x) : fc.forward(x);
                    Rng.manualSeed(9);
                    // kohya: mask = rand((batch, rank)) > p, unsqueezed over tokens (text encoder) or pixels (conv)
                    Tensor mask = Torch.rand(new long[] {6, 4}, DType.F32, Device.CPU).gt(0.5);
                    Tensor m = isConv ? mask.view(6, 4, 1, 1) : x.dim() == 3 ? mask.view(6, 1, 4) : mask;
                    Tensor expected = y.add(up(a, down(a, x, isConv).mul(m), isConv).mul(a.scale() / 0.5));
                    assertTrue(maxDiff(out, expected) < 1e-12, java.util.Arrays.toString(x.shape()) + ": " + maxDiff(out, expected));
                    long kept = mask.to(DType.I64).sum().itemLong();
                    assertTrue(kept > 0 && kept < 24, "some ranks kept and some dropped: " + kept);
                }
            }
        }
    }

    @Test
    void moduleDropoutLeavesTheWholeTermOutOfSomeForwards() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(5), Device.CPU, DType.F64)) {
            Linear fc = new Linear(w.pp("fc"), 8, 8, true);
            Rng.manualSeed(6);
            try (LoraNetwork net = net(w, 0, 0, 0.5)) {
                LoraAdapter a = net.adapters().get("fc");
                Tensor x = Torch.randn(new long[] {4, 8}, DType.F64, Device.CPU).requiresGrad_(true);
                Tensor y = Functional.linear(x, fc.weight(), fc.bias());
                Tensor full = y.add(up(a, down(a, x, false), false).mul(a.scale()));
                int skipped = 0;
                for (int i = 0; i < 40; i++) {
                    a.down().zeroGrad();
                    Tensor out = fc.forward(x);
                    boolean off = maxDiff(out, y) == 0;
                    assertTrue(off || maxDiff(out, full) < 1e-12, "forward " + i + ": either the host alone or the whole LoRA term");
                    out.sum().backward();
                    double g = a.down().grad().abs().sum().item();
                    assertEquals(off, g == 0, "a left-out module gets no gradient, a kept one does (forward " + i + ")");
                    if (off) skipped++;
                }
                assertTrue(skipped >= 8 && skipped <= 32, "about half of 40 forwards leave the module out: " + skipped);
            }
        }
    }

    @Test
    void probabilitiesOutsideZeroToOneAreRefused() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(5), Device.CPU, DType.F64)) {
            new Linear(w.pp("fc"), 8, 8, true);
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, LoraSpec.of(2, 2), Device.CPU)) {
                assertThrows(IllegalArgumentException.class, () -> net.setKohyaDropouts(1.0, 0, 0));
                assertThrows(IllegalArgumentException.class, () -> net.setKohyaDropouts(0, -0.1, 0));
                assertThrows(IllegalArgumentException.class, () -> net.setKohyaDropouts(0, 0, Double.NaN));
            }
        }
    }
}
