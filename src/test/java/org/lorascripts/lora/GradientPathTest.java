package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.Linear4bit;
import org.lorascripts.nn.LinearLayer;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.CustomFunction;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * A linear layer's gradient path (the last product of a recomputed checkpointed segment): the frozen product is not
 * computed, and the gradients it sends to the input and to a LoRA are exactly those of the forward.
 */
class GradientPathTest {
    private enum Adapt { NONE, LORA, DORA }

    @Test void sendsTheForwardsGradientsWithoutTheFrozenProduct() {
        for (boolean nf4 : new boolean[] {false, true}) {
            for (Adapt adapt : Adapt.values()) {
                try (Weights w = new Weights(new RandomWeights(11), Device.CPU, DType.F64); Scope s = Scope.open()) {
                    if (nf4) w.setLoadIn4bit(true);
                    LinearLayer l = LinearLayer.load(w.pp("proj"), 48, 24, true);
                    assertEquals(nf4, l instanceof Linear4bit);
                    LoraNetwork net = inject(w.loraHosts(), adapt);
                    String what = (nf4 ? "nf4 " : "dense ") + adapt;

                    Tensor x1 = Torch.randn(new long[] {2, 5, 48}, DType.F64, Device.CPU).requiresGrad_(true);
                    Tensor x2 = x1.detach().requiresGrad_(true);
                    Tensor g = Torch.randn(new long[] {2, 5, 24}, DType.F64, Device.CPU);
                    Tensor y = l.forward(x1);
                    y.backward(g, false);
                    List<double[]> forwardGrads = adapterGrads(net);
                    zeroGrads(net);

                    long ops = CustomFunction.mark();
                    Tensor p = l.gradientPath(x2);
                    assertArrayEquals(y.shape(), p.shape(), what);
                    if (adapt == Adapt.DORA) {
                        // DoRA reads the frozen output: the layer computes it, as forward does
                        assertArrayEquals(y.toDoubleArray(), p.toDoubleArray(), 1e-12, what);
                    } else if (adapt == Adapt.NONE) {
                        assertEquals(0, p.strides()[0], what + ": the value is a broadcast zero, no product computed");
                        assertTrue(java.util.Arrays.stream(p.toDoubleArray()).allMatch(v -> v == 0), what);
                        assertEquals(1, CustomFunction.pendingSince(ops), what + ": one operation carries the input's gradient");
                    } else {
                        // the value holds the adapter's part only
                        assertFalse(java.util.Arrays.equals(y.toDoubleArray(), p.toDoubleArray()), what);
                    }
                    p.backward(g, false);
                    assertEquals(0, CustomFunction.pendingSince(ops), what);
                    assertArrayEquals(x1.grad().toDoubleArray(), x2.grad().toDoubleArray(), 1e-12, what + ": input gradient");
                    List<double[]> pathGrads = adapterGrads(net);
                    assertEquals(forwardGrads.size(), pathGrads.size());
                    for (int i = 0; i < forwardGrads.size(); i++) {
                        assertArrayEquals(forwardGrads.get(i), pathGrads.get(i), 1e-12, what + ": adapter gradient " + i);
                    }
                    if (net != null) net.close();
                }
            }
        }
    }

    @Test void underAutocastTheValueHasTheProductsDtype() {
        try (Weights w = new Weights(new RandomWeights(5), Device.CPU, DType.F32); Scope s = Scope.open();
             var ac = Autocast.enable(Device.Type.CPU, DType.BF16)) {
            Linear l = new Linear(w.pp("proj"), 32, 16, false);
            Tensor x1 = Torch.randn(new long[] {3, 32}, DType.F32, Device.CPU).requiresGrad_(true);
            Tensor x2 = x1.detach().requiresGrad_(true);
            Tensor y = l.forward(x1);
            Tensor p = l.gradientPath(x2);
            assertEquals(DType.BF16, y.dtype());
            assertEquals(y.dtype(), p.dtype());
            Tensor g = Torch.randn(new long[] {3, 16}, DType.F32, Device.CPU).to(DType.BF16);
            y.backward(g, false);
            p.backward(g, false);
            assertEquals(DType.F32, x2.grad().dtype());
            assertArrayEquals(x1.grad().toDoubleArray(), x2.grad().toDoubleArray(), 0, "the same bf16 product as the forward's backward");
        }
    }

    @Test void theSegmentIsToldWhichRunIsTheRecompute() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.randn(new long[] {4}, DType.F64, Device.CPU).requiresGrad_(true);
            List<Boolean> seen = new java.util.ArrayList<>();
            Checkpoint.RecomputeAware square = (in, recompute) -> {
                seen.add(recompute);
                return List.of(in.get(0).mul(in.get(0)));
            };
            Tensor y = Checkpoint.applyAware(square, List.of(x), List.of(), 1).get(0);
            y.sum().backward();
            assertEquals(List.of(false, true), seen, "the forward run, then the recompute");
            assertArrayEquals(x.detach().mul(2).toDoubleArray(), x.grad().toDoubleArray(), 0);
            try (var ng = org.lorascripts.tensor.Autograd.noGrad()) {
                Checkpoint.applyAware(square, List.of(x), List.of(), 1);
            }
            assertEquals(List.of(false, true, false), seen, "a plain call without grad is no recompute");
        }
    }

    @Test void aConvolutionsGradientPathSendsItsGradients() {
        // 3x3 stride 1 (a resnet's conv2), 1x1 (a shortcut), 3x3 stride 2 on an odd size (the output padding case)
        int[][] cases = {{3, 1, 1, 9}, {1, 1, 0, 8}, {3, 2, 1, 9}};
        for (int[] c : cases) {
            for (Adapt adapt : Adapt.values()) {
                try (Weights w = new Weights(new RandomWeights(13), Device.CPU, DType.F64); Scope s = Scope.open()) {
                    org.lorascripts.nn.Conv2d conv = new org.lorascripts.nn.Conv2d(w.pp("conv"), 6, 10, c[0], c[1], c[2], true);
                    LoraNetwork net = null;
                    if (adapt != Adapt.NONE) {
                        Rng.manualSeed(4);
                        net = LoraNetwork.inject(w.loraHosts(), n -> true, new LoraSpec(4, 8, 0, 4, 8, false),
                                adapt == Adapt.DORA ? LoraAdapter.Decomposition.OUTPUT : LoraAdapter.Decomposition.NONE, Device.CPU);
                        assertEquals(1, net.size());
                        for (LoraAdapter a : net.adapters().values()) {
                            try (Tensor u = a.up().detach()) { u.normal_(0, 0.1); }
                        }
                    }
                    String what = java.util.Arrays.toString(c) + " " + adapt;
                    Tensor x1 = Torch.randn(new long[] {2, 6, c[3], c[3]}, DType.F64, Device.CPU).requiresGrad_(true);
                    Tensor x2 = x1.detach().requiresGrad_(true);
                    Tensor y = conv.forward(x1);
                    Tensor g = Torch.randn(y.shape(), DType.F64, Device.CPU);
                    y.backward(g, false);
                    List<double[]> forwardGrads = adapterGrads(net);
                    zeroGrads(net);
                    Tensor p = conv.gradientPath(x2);
                    assertArrayEquals(y.shape(), p.shape(), what);
                    if (adapt == Adapt.NONE) assertTrue(java.util.Arrays.stream(p.toDoubleArray()).allMatch(v -> v == 0), what);
                    if (adapt == Adapt.DORA) assertArrayEquals(y.toDoubleArray(), p.toDoubleArray(), 1e-12, what);
                    p.backward(g, false);
                    assertArrayEquals(x1.grad().toDoubleArray(), x2.grad().toDoubleArray(), 1e-12, what + ": input gradient");
                    List<double[]> pathGrads = adapterGrads(net);
                    for (int i = 0; i < forwardGrads.size(); i++) {
                        assertArrayEquals(forwardGrads.get(i), pathGrads.get(i), 1e-12, what + ": adapter gradient " + i);
                    }
                    if (net != null) net.close();
                }
            }
        }
    }

    private static LoraNetwork inject(Map<String, LoraHost> hosts, Adapt adapt) {
        if (adapt == Adapt.NONE) return null;
        Rng.manualSeed(2);
        LoraNetwork net = LoraNetwork.inject(hosts, n -> true, LoraSpec.of(4, 8),
                adapt == Adapt.DORA ? LoraAdapter.Decomposition.OUTPUT : LoraAdapter.Decomposition.NONE, Device.CPU);
        for (LoraAdapter a : net.adapters().values()) {
            try (Tensor u = a.up().detach()) { u.normal_(0, 0.1); }
        }
        return net;
    }

    private static List<double[]> adapterGrads(LoraNetwork net) {
        if (net == null) return List.of();
        return net.trainableParameters().stream().map(p -> p.tensor().grad().toDoubleArray()).toList();
    }

    private static void zeroGrads(LoraNetwork net) {
        if (net != null) for (var p : net.trainableParameters()) p.tensor().zeroGrad();
    }
}
