package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lorascripts.nn.FusedOps;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rebuild;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * A LoRA's down projection over an RMSNorm's output saves the norm's input (which the norm keeps anyway) and makes
 * the output again in backward ({@link Rebuild}), instead of keeping the output: the same gradients, one activation
 * less held between forward and backward.
 */
class NormRebuildTest {
    private static final String[] NAMES = {"q", "k", "v"};

    /** {x's gradient, then down's and up's gradient of each adapter} of the three outputs against fixed weights. */
    private static List<Tensor> run(boolean rebuild, List<Linear> hosts, LoraNetwork net, Tensor x0, Tensor w, AtomicInteger makes) {
        Tensor x = x0.detach().requiresGrad_(true);
        Rng.manualSeed(21);   // the same dropout masks in both runs
        for (LoraAdapter a : net.adapters().values()) {
            a.down().zeroGrad();
            a.up().zeroGrad();
        }
        Tensor loss = null;
        // the forward in a scope of its own, closed before backward, as a training step's is: the recipe must read
        // only what was saved, not the forward's wrappers (here even the norm's weight is a temporary of that scope)
        try (Scope f = Scope.open()) {
            Tensor y = FusedOps.rmsNorm(x, w.copy(), 1e-6);
            Rebuild r = y.rebuild();
            assertNotNull(r, "a norm output that needs a gradient is rebuildable");
            if (rebuild) {
                y.rebuildableBy(new Rebuild(r.sources(), src -> {
                    makes.incrementAndGet();
                    return r.make().apply(src);
                }));
            } else {
                y.rebuildableBy(null);
            }
            for (int h = 0; h < 3; h++) {
                Tensor out = hosts.get(h).forward(y);
                Tensor term = out.mul(out).sum().mul(h + 1.0);
                loss = loss == null ? term : loss.add(term);
            }
            f.moveToOuter(loss);
        }
        loss.backward();
        List<Tensor> g = new ArrayList<>(List.of(x.grad()));
        for (String n : NAMES) {
            LoraAdapter a = net.adapters().get(n);
            g.add(a.down().grad());
            g.add(a.up().grad());
        }
        return g;
    }

    @ParameterizedTest(name = "lora dropout {0}")
    @ValueSource(doubles = {0.0, 0.3})
    void downOverARebuiltNormOutputGivesTheSameGradientsAndRebuildsItOnce(double dropout) {
        try (Scope s = Scope.open(); Weights ws = new Weights(new RandomWeights(5), Device.CPU, DType.F64)) {
            List<Linear> hosts = List.of(new Linear(ws.pp("q"), 32, 16, false), new Linear(ws.pp("k"), 32, 8, true),
                    new Linear(ws.pp("v"), 32, 8, false));
            try (LoraNetwork net = LoraNetwork.inject(ws.loraHosts(), n -> true, new LoraSpec(4, 8, dropout, 0, 0, false), Device.CPU)) {
                net.setTraining(true);
                for (LoraAdapter a : net.adapters().values()) a.up().detach().normal_(0, 0.3);
                Tensor x = Torch.randn(new long[] {3, 7, 32}, DType.F64, Device.CPU);
                Tensor w = Torch.rand(new long[] {32}, DType.F64, Device.CPU).add(0.5);
                AtomicInteger makes = new AtomicInteger();
                List<Tensor> plain = run(false, hosts, net, x, w, makes);
                assertEquals(0, makes.get(), "without a recipe nothing is rebuilt");
                List<Tensor> rebuilt = run(true, hosts, net, x, w, makes);
                assertEquals(1, makes.get(), "the three adapters' backwards share one remake of the norm output");
                for (int i = 0; i < plain.size(); i++) {
                    double scale = plain.get(i).abs().amax().item();
                    assertTrue(scale > 0, "gradient " + i + " is not zero");
                    double diff = plain.get(i).sub(rebuilt.get(i)).abs().amax().item();
                    assertTrue(diff <= 1e-12 * scale, "gradient " + i + " differs by " + diff + " of " + scale);
                }
            }
        }
    }

    /**
     * The down projection of an MLP with all linear layers targeted: its LoRA over SwiGLU's (or GEGLU's) product saves
     * the gate and up projections (the projection p), which the product keeps for its own backward.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"swiglu", "geglu"})
    void downOverAGatedProductGivesTheSameGradientsFromItsRecipe(String act) {
        try (Scope s = Scope.open(); Weights ws = new Weights(new RandomWeights(8), Device.CPU, DType.F64)) {
            Linear down = new Linear(ws.pp("down"), 24, 12, true);
            try (LoraNetwork net = LoraNetwork.inject(ws.loraHosts(), n -> true, new LoraSpec(4, 8, 0, 0, 0, false), Device.CPU)) {
                net.setTraining(true);
                LoraAdapter a = net.adapters().get("down");
                a.up().detach().normal_(0, 0.3);
                Tensor p0 = Torch.randn(new long[] {3, 5, 48}, DType.F64, Device.CPU);
                AtomicInteger makes = new AtomicInteger();
                List<List<Tensor>> grads = new ArrayList<>();
                for (boolean rebuild : new boolean[] {false, true}) {
                    Tensor p = p0.detach().requiresGrad_(true);
                    a.down().zeroGrad();
                    a.up().zeroGrad();
                    Tensor loss;
                    try (Scope f = Scope.open()) {
                        Tensor h = act.equals("swiglu") ? FusedOps.swiglu(p.narrow(-1, 0, 24), p.narrow(-1, 24, 24)) : FusedOps.geglu(p);
                        Rebuild r = h.rebuild();
                        assertNotNull(r, act + " output that needs a gradient is rebuildable");
                        h.rebuildableBy(rebuild ? new Rebuild(r.sources(), src -> {
                            makes.incrementAndGet();
                            return r.make().apply(src);
                        }) : null);
                        Tensor out = down.forward(h);
                        loss = f.moveToOuter(out.mul(out).sum());
                    }
                    loss.backward();
                    grads.add(List.of(p.grad(), a.down().grad(), a.up().grad()));
                }
                assertEquals(1, makes.get(), "the product is made again once, for the down projection's backward");
                for (int i = 0; i < 3; i++) {
                    double scale = grads.get(0).get(i).abs().amax().item();
                    assertTrue(scale > 0, "gradient " + i + " is not zero");
                    double diff = grads.get(0).get(i).sub(grads.get(1).get(i)).abs().amax().item();
                    assertTrue(diff <= 1e-12 * scale, act + " gradient " + i + " differs by " + diff + " of " + scale);
                }
            }
        }
    }

    @Test
    void registeredReadersShareOneValueAndTheLastCallFreesIt() {
        try (Scope s = Scope.open()) {
            Tensor src = Torch.randn(new long[] {4}, DType.F32, Device.CPU);
            AtomicInteger makes = new AtomicInteger();
            Rebuild r = new Rebuild(List.of(src), in -> {
                makes.incrementAndGet();
                return in.get(0).mul(2);
            });
            r.addReader();
            r.addReader();
            Tensor a = r.value(r.sources()), b = r.value(r.sources());
            assertEquals(1, makes.get(), "two readers, one make");
            assertEquals(0.0, a.sub(src.mul(2)).abs().amax().item());
            assertEquals(0.0, b.sub(a).abs().amax().item());
            a.close();
            assertEquals(0.0, b.sub(src.mul(2)).abs().amax().item(), "a reader's alias outlives another's");
            r.addReader();
            r.value(r.sources());
            assertEquals(2, makes.get(), "after the last reader the value was freed; a new reader makes it again");
        }
    }

    @Test
    void onlyARecordedNormOutputCarriesARecipeAndAClosedSourceDisablesIt() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.randn(new long[] {2, 8}, DType.F32, Device.CPU);
            Tensor w = Torch.ones(new long[] {8}, DType.F32, Device.CPU);
            assertNull(FusedOps.rmsNorm(x, w, 1e-6).rebuild(), "no gradient recorded, nothing to rebuild");
            Tensor xg = x.detach().requiresGrad_(true);
            Tensor y = FusedOps.rmsNorm(xg, w, 1e-6);
            Rebuild r = y.rebuild();
            assertTrue(r.usable());
            try (var ng = Autograd.noGrad()) {
                assertEquals(0.0, r.make().apply(r.sources()).sub(y.detach()).abs().amax().item(), "the recipe makes the same bits");
            }
            assertNull(y.view(16).rebuild(), "a view carries no recipe");
            r.sources().get(0).close();
            assertTrue(!r.usable(), "a closed source makes the recipe unusable");
            // an adapter then saves the norm output itself, and backward still works
            try (Weights ws = new Weights(new RandomWeights(2), Device.CPU, DType.F32)) {
                Linear fc = new Linear(ws.pp("fc"), 8, 4, false);
                try (LoraNetwork net = LoraNetwork.inject(ws.loraHosts(), n -> true, new LoraSpec(2, 2, 0, 0, 0, false), Device.CPU)) {
                    net.setTraining(true);
                    fc.forward(y).sum().backward();
                    assertNotNull(xg.grad());
                }
            }
        }
    }

    /**
     * What the forward of three adapters over one norm output leaves held until backward: with the recipe, the
     * norm's output is not among it. Needs the memory profiler (a libtorch with Kineto).
     */
    @Test
    void threeAdaptersOverANormOutputDoNotHoldIt() {
        long[] held = new long[2];
        long yBytes;
        try (Scope s = Scope.open(); Weights ws = new Weights(new RandomWeights(9), Device.CPU, DType.F32)) {
            List<Linear> hosts = List.of(new Linear(ws.pp("q"), 512, 64, false), new Linear(ws.pp("k"), 512, 64, false),
                    new Linear(ws.pp("v"), 512, 64, false));
            try (LoraNetwork net = LoraNetwork.inject(ws.loraHosts(), n -> true, new LoraSpec(4, 4, 0, 0, 0, false), Device.CPU)) {
                net.setTraining(true);
                Tensor x = Torch.randn(new long[] {256, 512}, DType.F32, Device.CPU).requiresGrad_(true);
                Tensor w = Torch.ones(new long[] {512}, DType.F32, Device.CPU);
                yBytes = x.numel() * 4;
                for (int k = 0; k < 2; k++) {
                    boolean plain = k == 1;
                    held[k] = HeldAfterForward.bytes(f -> {
                        Tensor y = FusedOps.rmsNorm(x, w, 1e-6);
                        if (plain) y.rebuildableBy(null);
                        return hosts.stream().map(h -> h.forward(y)).toList();
                    });
                }
            }
        }
        System.out.printf("held after the forward of a norm and three adapters: %d bytes with the recipe, %d without (output %d)%n",
                held[0], held[1], yBytes);
        assertTrue(held[1] - held[0] >= yBytes, "without the recipe " + held[1] + " against " + held[0] + " (norm output " + yBytes + " bytes)");
    }
}
