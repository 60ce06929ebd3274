package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * Image DoRA (kohya/LyCORIS {@code dora_scale}, per input channel) against WebUI's and ComfyUI's
 * formulas on fixed tensors. Reference numbers: {@code tools/dora_reference.py webui
 * src/test/resources/fixtures/dora/webui_dora.json} (fp64).
 */
class KohyaDoraTest {

    private static double[] doubles(JsonNode n) {
        double[] d = new double[n.size()];
        for (int i = 0; i < d.length; i++) d[i] = n.get(i).doubleValue();
        return d;
    }

    private static long[] longs(JsonNode n) {
        long[] d = new long[n.size()];
        for (int i = 0; i < d.length; i++) d[i] = n.get(i).longValue();
        return d;
    }

    private static Tensor tensor(JsonNode c, String key) { return Torch.of(doubles(c.get(key)), longs(c.get(key + "_shape"))); }

    /** A host with the case's weight and a DoRA with the case's down, up, alpha and dora_scale. */
    private record Case(LoraHost host, LoraNetwork net, LoraAdapter adapter, JsonNode json) {}

    private static Case load(String name, Weights w) throws Exception {
        JsonNode c = Json.readObject(PeftDoraParityTest.resource("/fixtures/dora/webui_dora.json")).get(name);
        long[] ws = longs(c.get("weight_shape"));
        LoraHost host = ws.length == 2 ? new Linear(w.pp("fc"), ws[1], ws[0], false) : new Conv2d(w.pp("conv"), ws[1], ws[0], (int) ws[2], 1, 1, false);
        int rank = (int) longs(c.get("down_shape"))[0];
        double alpha = c.get("alpha").doubleValue();
        LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, new LoraSpec(rank, alpha, 0, rank, alpha, false),
                LoraAdapter.Decomposition.INPUT, Device.CPU);
        LoraAdapter a = net.adapters().values().iterator().next();
        try (var ng = Autograd.noGrad()) {
            host.weight().copy_(tensor(c, "weight"));
            a.down().copy_(tensor(c, "down"));
            a.up().copy_(tensor(c, "up"));
            assertArrayEquals(longs(c.get("dora_scale_shape")), a.magnitude().shape(), "dora_scale (1, in[, 1, 1])");
            a.magnitude().copy_(tensor(c, "dora_scale"));
        }
        return new Case(host, net, a, c);
    }

    @ParameterizedTest
    @ValueSource(strings = {"linear", "conv3x3"})
    void mergedWeightAndUnmergedForwardFollowWebUi(String name) throws Exception {
        try (Scope s = Scope.open(); var ng = Autograd.noGrad(); Weights w = new Weights(new RandomWeights(3), Device.CPU, DType.F64)) {
            Case k = load(name, w);
            long[] ws = k.host().weightShape();
            Rng.manualSeed(1);
            Tensor x = ws.length == 2 ? Torch.randn(new long[] {3, ws[1]}, DType.F64, Device.CPU) : Torch.randn(new long[] {2, ws[1], 5, 5}, DType.F64, Device.CPU);
            for (double mult : new double[] {1.0, 0.6}) {
                k.adapter().setMultiplier(mult);
                Tensor webui = Torch.of(doubles(k.json().get("webui_merged_" + mult)), ws);
                Tensor comfy = Torch.of(doubles(k.json().get("comfy_merged_" + mult)), ws);
                Tensor merged = k.host().weight().add(k.adapter().delta(k.host(), DType.F64));
                double dw = TensorDiff.maxAbsDiff(merged, webui), dc = TensorDiff.maxAbsDiff(merged, comfy);
                // the adapter unmerged computes what the merged weight computes
                Tensor got = k.host() instanceof Linear l ? l.forward(x) : ((Conv2d) k.host()).forward(x);
                Tensor want = ws.length == 2 ? Functional.linear(x, webui, null) : Functional.conv2d(x, webui, null, 1, 1, 1);
                double df = TensorDiff.maxAbsDiff(got, want);
                System.out.printf("%s x%.1f: merged vs WebUI %.3g, vs ComfyUI %.3g; unmerged forward vs WebUI's weight %.3g%n", name, mult, dw, dc, df);
                // the adapter keeps fp32 masters (down, up, dora_scale), so ~1e-7 of rounding against fp64 references
                assertTrue(dw < 1e-6, "merged weight vs WebUI: " + dw);
                assertTrue(dc < 1e-6, "merged weight vs ComfyUI: " + dc);
                assertTrue(df < 1e-6, "unmerged forward vs WebUI's merged weight: " + df);
                assertTrue(TensorDiff.maxAbsDiff(webui, k.host().weight()) > 0.05, "the DoRA changes the weight");
            }
            k.net().close();
        }
    }

    @Test
    void freshDoraIsTheIdentityAndTrainsItsMagnitude() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(4), Device.CPU, DType.F32)) {
            Linear fc = new Linear(w.pp("fc"), 6, 5, true);
            Conv2d conv = new Conv2d(w.pp("conv"), 3, 4, 3, 1, 1, true);
            Tensor x = Torch.randn(2, 6);
            Tensor img = Torch.randn(new long[] {1, 3, 6, 6}, DType.F32, Device.CPU);
            Tensor y0 = fc.forward(x).detach(), c0 = conv.forward(img).detach();
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, new LoraSpec(2, 1, 0, 2, 1, false), LoraAdapter.Decomposition.INPUT,
                    Device.CPU)) {
                assertTrue(TensorDiff.maxAbsDiff(fc.forward(x), y0) < 1e-6 && TensorDiff.maxAbsDiff(conv.forward(img), c0) < 1e-5,
                        "m = ‖W‖ and up = 0: the identity");
                assertEquals(List.of("fc.lora_down.weight", "fc.lora_up.weight", "fc.dora_scale"),
                        net.trainableParameters().stream().filter(p -> p.name().startsWith("fc.")).map(p -> p.name()).toList());
                fc.forward(x).sum().add(conv.forward(img).sum()).backward();
                for (LoraAdapter a : net.adapters().values()) {
                    assertTrue(a.magnitude().grad().abs().sum().item() > 0, "the magnitude gets a gradient");
                    assertTrue(a.up().grad().abs().sum().item() > 0, "up gets a gradient");
                }
            }
        }
    }

    /**
     * bf16 hosts and inputs, plain and under autocast (the CUDA fp16/bf16 paths, run here on the CPU): the
     * output keeps the input's dtype and matches x·W'ᵀ of the fp32 merged weight within bf16 precision.
     */
    @ParameterizedTest
    @ValueSource(strings = {"INPUT", "OUTPUT"})
    void lowPrecisionHostsAndAutocast(String decomposition) {
        LoraAdapter.Decomposition d = LoraAdapter.Decomposition.valueOf(decomposition);
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(5), Device.CPU, DType.BF16)) {
            Linear fc = new Linear(w.pp("fc"), 16, 12, true);
            Conv2d conv = new Conv2d(w.pp("conv"), 4, 6, 3, 1, 1, true);
            Rng.manualSeed(2);
            Tensor x = Torch.randn(new long[] {3, 16}, DType.F32, Device.CPU);
            Tensor img = Torch.randn(new long[] {1, 4, 5, 5}, DType.F32, Device.CPU);
            try (LoraNetwork net = LoraNetwork.inject(w.loraHosts(), n -> true, new LoraSpec(4, 4, 0, 4, 4, false), d, Device.CPU)) {
                try (var ng = Autograd.noGrad()) {
                    for (LoraAdapter a : net.adapters().values()) {
                        a.up().normal_(0, 0.3);
                        a.magnitude().mul_(1.2);
                    }
                }
                Tensor wantFc, wantConv;
                try (var ng = Autograd.noGrad()) {
                    Tensor mf = fc.weight().to(DType.F32).add(net.adapters().get("fc").delta(fc, DType.F32));
                    Tensor mc = conv.weight().to(DType.F32).add(net.adapters().get("conv").delta(conv, DType.F32));
                    wantFc = Functional.linear(x, mf, fc.bias().to(DType.F32));
                    wantConv = Functional.conv2d(img, mc, conv.bias().to(DType.F32), 1, 1, 1);
                }
                Tensor plainFc = fc.forward(x.to(DType.BF16)), plainConv = conv.forward(img.to(DType.BF16));
                assertEquals(DType.BF16, plainFc.dtype());
                assertEquals(DType.BF16, plainConv.dtype());
                Tensor acFc, acConv;
                try (var ac = org.lorascripts.tensor.Autocast.enable(Device.Type.CPU, DType.BF16)) {
                    acFc = fc.forward(x);
                    acConv = conv.forward(img);
                }
                for (Tensor[] p : new Tensor[][] {{plainFc, wantFc}, {plainConv, wantConv}, {acFc, wantFc}, {acConv, wantConv}}) {
                    double scale;
                    try (Tensor ab = p[1].abs(); Tensor mx = ab.amax()) {
                        scale = mx.item();
                    }
                    double rel = TensorDiff.maxAbsDiff(p[0].to(DType.F32), p[1]) / scale;
                    assertTrue(rel < 3e-2, decomposition + " bf16 output vs fp32 merged weight: " + rel);
                }
                acFc.to(DType.F32).sum().add(acConv.to(DType.F32).sum()).backward();
                for (LoraAdapter a : net.adapters().values()) {
                    assertEquals(DType.F32, a.magnitude().grad().dtype(), "fp32 master gradients");
                    assertTrue(a.magnitude().grad().abs().sum().item() > 0);
                }
            }
        }
    }

    /** Two LoRAs on one module (two {@code <lora:...>} tags), one of them a DoRA: each adds its delta against the original weight, as WebUI does. */
    @Test
    void aDoraInAnAdapterSumAddsItsDeltaAgainstTheOriginalWeight() {
        try (Scope s = Scope.open(); var ng = Autograd.noGrad(); Weights w = new Weights(new RandomWeights(6), Device.CPU, DType.F64)) {
            Linear fc = new Linear(w.pp("fc"), 5, 4, true);
            LoraNetwork dora = LoraNetwork.inject(w.loraHosts(), n -> true, LoraSpec.of(2, 2), LoraAdapter.Decomposition.INPUT, Device.CPU);
            LoraNetwork plain = LoraNetwork.inject(w.loraHosts(), n -> true, LoraSpec.of(2, 2), Device.CPU);
            LoraAdapter a = dora.adapters().get("fc"), b = plain.adapters().get("fc");
            a.up().normal_(0, 0.5);
            a.magnitude().mul_(0.7);
            b.up().normal_(0, 0.5);
            a.setMultiplier(0.8);
            Tensor x = Torch.randn(new long[] {3, 5}, DType.F64, Device.CPU);
            Tensor merged = fc.weight().add(a.delta(fc, DType.F64)).add(b.delta(fc, DType.F64));
            fc.attach(new AdapterSum(List.of(a, b)));
            double d = TensorDiff.maxAbsDiff(fc.forward(x), Functional.linear(x, merged, fc.bias()));
            assertTrue(d < 1e-6, "sum of a DoRA and a LoRA: " + d);
            fc.attach(null);
            dora.close();
            plain.close();
        }
    }

    @Test
    void writtenFileHasDoraScaleAndReadsBackToTheSameOutputs(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("dora.safetensors");
        try (Scope s = Scope.open(); var ng = Autograd.noGrad(); Weights w = new Weights(new RandomWeights(3), Device.CPU, DType.F64)) {
            Case k = load("conv3x3", w);
            Tensor img = Torch.randn(new long[] {1, 3, 5, 5}, DType.F64, Device.CPU);
            Tensor want = ((Conv2d) k.host()).forward(img);
            KohyaLoraWriter.write(file, List.of(new KohyaLoraWriter.Part("lora_unet", k.net())), DType.F32, Map.of());
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals(List.of("lora_unet_conv.alpha", "lora_unet_conv.dora_scale", "lora_unet_conv.lora_down.weight", "lora_unet_conv.lora_up.weight"),
                        f.names().stream().sorted().toList());
                assertArrayEquals(new long[] {1, 3, 1, 1}, f.info("lora_unet_conv.dora_scale").shape(), "WebUI's per-input orientation");
            }
            k.net().close();
            try (Weights w2 = new Weights(new RandomWeights(3), Device.CPU, DType.F64)) {
                Conv2d conv = new Conv2d(w2.pp("conv"), 3, 4, 3, 1, 1, false);
                conv.weight().copy_(k.host().weight());
                Map<String, LoraNetwork> nets = KohyaLoraReader.load(file, Map.of("lora_unet", w2.loraHosts()), 1.0, Device.CPU);
                LoraAdapter back = nets.get("lora_unet").adapters().get("conv");
                assertEquals(LoraAdapter.Decomposition.INPUT, back.decomposition());
                double d = TensorDiff.maxAbsDiff(conv.forward(img), want);
                assertTrue(d < 1e-5, "read back: " + d);
                nets.values().forEach(LoraNetwork::close);
            }
        }
    }

    @Test
    void lycorisPerOutputDoraScaleIsRecognisedAndABadShapeRefused(@TempDir Path tmp) throws Exception {
        assertEquals(LoraAdapter.Decomposition.INPUT, KohyaLoraReader.doraDecomposition(new long[] {1, 6}, new long[] {6, 6}));
        assertEquals(LoraAdapter.Decomposition.OUTPUT, KohyaLoraReader.doraDecomposition(new long[] {6, 1}, new long[] {6, 6}));
        assertEquals(LoraAdapter.Decomposition.OUTPUT, KohyaLoraReader.doraDecomposition(new long[] {4, 1, 1, 1}, new long[] {4, 3, 3, 3}));
        assertEquals(null, KohyaLoraReader.doraDecomposition(new long[] {1, 5}, new long[] {4, 3}));
        Path file = tmp.resolve("bad.safetensors");
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(3), Device.CPU, DType.F32)) {
            new Linear(w.pp("fc"), 3, 4, false);
            SafetensorsWriter sw = new SafetensorsWriter();
            TensorIO.add(sw, "lora_unet_fc.lora_down.weight", Torch.zeros(new long[] {2, 3}, DType.F32, Device.CPU), DType.F32);
            TensorIO.add(sw, "lora_unet_fc.lora_up.weight", Torch.zeros(new long[] {4, 2}, DType.F32, Device.CPU), DType.F32);
            TensorIO.add(sw, "lora_unet_fc.dora_scale", Torch.ones(new long[] {1, 5}, DType.F32, Device.CPU), DType.F32);
            sw.write(file);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> KohyaLoraReader.load(file, Map.of("lora_unet", w.loraHosts()), 1.0, Device.CPU));
            assertTrue(e.getMessage().contains("lora_unet_fc.dora_scale has shape [1, 5]"), e.getMessage());
        }
    }
}
