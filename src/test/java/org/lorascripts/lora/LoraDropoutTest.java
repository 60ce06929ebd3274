package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.CustomFunction;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Profiler;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * LoRA dropout on a linear host while training runs as one operation that keeps x and a boolean mask instead of a
 * dropped copy: the same mask as {@link Functional#dropout} for the same seed, the same output and gradients as the
 * composition y + up(down(dropout(x))) · scale, under autocast in its dtypes, and less memory held for backward.
 */
class LoraDropoutTest {
    private static final double P = 0.3;

    private static LoraSpec spec() { return new LoraSpec(3, 6, P, 0, 0, false); }

    private static double maxDiff(Tensor a, Tensor b) { return a.to(DType.F64).sub(b.to(DType.F64)).abs().amax().item(); }

    /** {output, x's gradient, down's gradient, up's gradient} of out · g summed, after seeding the generator. */
    private static List<Tensor> run(boolean composition, Linear fc, LoraAdapter a, Tensor x0, Tensor g, DType autocast) {
        Tensor x = x0.detach().requiresGrad_(true);
        a.down().zeroGrad();
        a.up().zeroGrad();
        Rng.manualSeed(11);
        Tensor out;
        try (Autocast ac = autocast == null ? null : Autocast.enable(Device.Type.CPU, autocast)) {
            out = composition ? Functional.linear(x, fc.weight(), fc.bias()).add(a.apply(x)) : fc.forward(x);
        }
        out.to(DType.F64).mul(g).sum().backward();
        return List.of(out.detach(), x.grad(), a.down().grad(), a.up().grad());
    }

    @Test
    void sameMaskOutputAndGradientsAsTheComposition() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(7), Device.CPU, DType.F64)) {
            Linear fc = new Linear(w.pp("fc"), 24, 10, true);
            Rng.manualSeed(3);
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, spec(), Device.CPU)) {
                net.setTraining(true);
                LoraAdapter a = net.adapters().get("fc");
                a.up().detach().normal_(0, 0.5);
                Tensor x = Torch.randn(new long[] {4, 5, 24}, DType.F64, Device.CPU);
                Tensor g = Torch.randn(new long[] {4, 5, 10}, DType.F64, Device.CPU);
                long pending = CustomFunction.mark();
                Tensor once = fc.forward(x.detach().requiresGrad_(true));
                assertEquals(1, CustomFunction.pendingSince(pending), "the host's forward made one operation of the dropout and down");
                once.sum().backward();
                assertEquals(0, CustomFunction.pendingSince(pending));
                List<Tensor> fused = run(false, fc, a, x, g, null), plain = run(true, fc, a, x, g, null);
                String[] what = {"output", "x's gradient", "down's gradient", "up's gradient"};
                for (int i = 0; i < 4; i++) assertTrue(maxDiff(fused.get(i), plain.get(i)) < 1e-12, what[i] + ": " + maxDiff(fused.get(i), plain.get(i)));
                // dropout is on: a zeroed input element gets no gradient through the adapter, so down's gradient
                // differs from the one without dropout
                net.setTraining(false);
                List<Tensor> noDrop = run(false, fc, a, x, g, null);
                assertTrue(maxDiff(noDrop.get(2), fused.get(2)) > 1e-3, "the mask changed nothing");
                // another seed, another mask
                net.setTraining(true);
                Rng.manualSeed(12);
                Tensor other;
                try (var ng = org.lorascripts.tensor.Autograd.noGrad()) {
                    other = fc.forward(x);   // the plain dropout without grad: the same draws
                }
                assertTrue(maxDiff(other, fused.get(0)) > 1e-6, "the mask did not follow the seed");
            }
        }
    }

    /** A checkpointed segment runs its forward without grad (the plain dropout) and recomputes with it (the fused one): the same draws. */
    @Test
    void aCheckpointedHostRecomputesTheSameMask() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(5), Device.CPU, DType.F64)) {
            Linear fc = new Linear(w.pp("fc"), 32, 8, true);
            Rng.manualSeed(6);
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, spec(), Device.CPU)) {
                net.setTraining(true);
                LoraAdapter a = net.adapters().get("fc");
                a.up().detach().normal_(0, 0.5);
                Tensor x0 = Torch.randn(new long[] {3, 7, 32}, DType.F64, Device.CPU);
                double[][] grads = new double[2][];
                for (int k = 0; k < 2; k++) {
                    Tensor x = x0.detach().requiresGrad_(true);
                    a.down().zeroGrad();
                    Rng.manualSeed(21);
                    Tensor out = k == 0 ? fc.forward(x)
                            : org.lorascripts.tensor.Checkpoint.apply(in -> List.of(fc.forward(in.get(0))), List.of(x), List.of(a.down(), a.up()), 1).get(0);
                    out.pow(2).sum().backward();
                    grads[k] = Torch.cat(List.of(a.down().grad().flatten(), x.grad().flatten()), 0).toDoubleArray();
                }
                for (int i = 0; i < grads[0].length; i++) assertEquals(grads[0][i], grads[1][i], 1e-12, "gradient " + i);
            }
        }
    }

    @Test
    void underAutocastTheProductAndGradientsKeepTheCompositionsDtypes() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(8), Device.CPU, DType.F32)) {
            Linear fc = new Linear(w.pp("fc"), 64, 32, true);
            Rng.manualSeed(4);
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, spec(), Device.CPU)) {
                net.setTraining(true);
                LoraAdapter a = net.adapters().get("fc");
                a.up().detach().normal_(0, 0.5);
                Tensor g = Torch.randn(new long[] {6, 32}, DType.F64, Device.CPU);
                for (DType in : new DType[] {DType.F32, DType.BF16}) {
                    Tensor x = Torch.randn(new long[] {6, 64}, DType.F32, Device.CPU).to(in);
                    List<Tensor> fused = run(false, fc, a, x, g, DType.BF16), plain = run(true, fc, a, x, g, DType.BF16);
                    assertEquals(DType.BF16, fused.get(0).dtype());
                    assertEquals(in, fused.get(1).dtype(), "x's gradient in x's dtype");
                    assertEquals(DType.F32, fused.get(2).dtype(), "fp32 master weights get fp32 gradients");
                    for (int i = 0; i < 4; i++) {
                        double scale = plain.get(i).to(DType.F64).abs().amax().item();
                        assertTrue(maxDiff(fused.get(i), plain.get(i)) <= 1e-2 * scale, in + " tensor " + i + ": " + maxDiff(fused.get(i), plain.get(i)) + " of " + scale);
                    }
                }
            }
        }
    }

    /**
     * Three adapters on one input (q, k and v): after the forward the fused path holds their masks (a byte per element
     * each) and the input once; the composition holds a dropped copy and a mask per adapter. Needs the memory profiler
     * (a libtorch with Kineto).
     */
    @Test
    void threeAdaptersOnOneInputHoldTheInputOnceAndAByteMaskEach() {
        long[] held = new long[2];
        long xBytes;
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(9), Device.CPU, DType.F32)) {
            List<Linear> hosts = List.of(new Linear(w.pp("q"), 512, 64, false), new Linear(w.pp("k"), 512, 64, false),
                    new Linear(w.pp("v"), 512, 64, false));
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, spec(), Device.CPU)) {
                net.setTraining(true);
                Tensor x = Torch.randn(new long[] {256, 512}, DType.F32, Device.CPU).requiresGrad_(true);
                xBytes = x.numel() * 4;
                for (int k = 0; k < 2; k++) {
                    boolean composition = k == 1;
                    // the forward's temporaries close with its scope; what stays is the outputs and what backward saved
                    held[k] = HeldAfterForward.bytes(f -> {
                        List<Tensor> outs = new ArrayList<>();
                        for (int h = 0; h < 3; h++) {
                            Linear host = hosts.get(h);
                            LoraAdapter a = net.adapters().get(List.of("q", "k", "v").get(h));
                            outs.add(composition ? Functional.linear(x, host.weight(), null).add(a.apply(x)) : host.forward(x));
                        }
                        return outs;
                    });
                }
            }
        }
        long outputs = 3L * 256 * 64 * 4, masks = 3L * 256 * 512;
        System.out.printf("held after the forward of three adapters with dropout on one %d-byte input: %d bytes (composition %d)%n", xBytes, held[0], held[1]);
        assertTrue(held[0] <= outputs + masks + xBytes / 8, "fused: " + held[0] + " bytes held, outputs " + outputs + " masks " + masks);
        assertTrue(held[1] - held[0] >= 3 * xBytes, "composition " + held[1] + " against fused " + held[0] + " (x " + xBytes + " bytes)");
    }
}
