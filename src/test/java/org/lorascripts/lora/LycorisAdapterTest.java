package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.nn.Adapter;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * LyCORIS LoHa / LoKr: each module's ΔW against the values of {@code tools/lycoris_reference.py} (plain torch of
 * LyCORIS's formulas and its loaders' scale rules, checked once against LyCORIS's own functional code), LyCORIS's
 * factorisation and LoKr shape rules, the forward, and the file format (keys, shapes, dtypes, round trip).
 */
class LycorisAdapterTest {
    static final Path REFERENCE = Path.of("src/test/resources/lycoris/reference.json");

    /** A host of a given weight shape (linear for 2-D, convolution with padding 1 for 4-D). */
    static final class FakeHost implements LoraHost {
        final long[] shape;
        Adapter adapter;

        FakeHost(long... shape) { this.shape = shape; }

        @Override public Kind kind() { return shape.length == 2 ? Kind.LINEAR : Kind.CONV; }
        @Override public long[] weightShape() { return shape.clone(); }
        @Override public int padding() { return shape.length == 4 ? (int) shape[2] / 2 : 0; }
        @Override public Tensor weight() { throw new UnsupportedOperationException(); }
        @Override public Tensor bias() { return null; }
        @Override public void attach(Adapter a) { adapter = a; }
        @Override public Adapter adapter() { return adapter; }
    }

    private static long[] longs(JsonNode n) {
        long[] r = new long[n.size()];
        for (int i = 0; i < r.length; i++) r[i] = n.get(i).asLong();
        return r;
    }

    private static double[] doubles(JsonNode n) {
        double[] r = new double[n.size()];
        for (int i = 0; i < r.length; i++) r[i] = n.get(i).asDouble();
        return r;
    }

    @Test
    void deltaOfEveryModuleFormMatchesTheReference() throws Exception {
        JsonNode ref = Json.read(REFERENCE);
        assertEquals(11, ref.get("cases").size());
        try (Scope s = Scope.open()) {
            for (JsonNode c : ref.get("cases")) {
                String name = c.get("name").asText();
                Map<String, Tensor> t = new LinkedHashMap<>();
                for (var e : c.get("tensors").properties()) {
                    t.put(e.getKey(), Torch.of(doubles(e.getValue().get("values")), longs(e.getValue().get("shape"))));
                }
                Double alpha = c.get("alpha").isNull() ? null : c.get("alpha").asDouble();
                LycorisAdapter.Algo algo = c.get("algo").asText().equals("loha") ? LycorisAdapter.Algo.LOHA : LycorisAdapter.Algo.LOKR;
                long[] ws = longs(c.get("weight_shape"));
                try (LycorisAdapter a = LycorisAdapter.fromTensors(algo, t, alpha, new FakeHost(ws), Device.CPU)) {
                    Tensor d = a.delta(DType.F64);
                    assertArrayEquals(ws, d.shape(), name);
                    double[] expected = doubles(c.get("delta"));
                    double[] got = d.toDoubleArray();
                    double max = 0;
                    for (double v : expected) max = Math.max(max, Math.abs(v));
                    assertTrue(max > 1e-3, name + ": the reference is not trivially zero");
                    // the masters are fp32, the reference fp64: agree to fp32 rounding of the inputs
                    for (int i = 0; i < got.length; i++) assertEquals(expected[i], got[i], 1e-6 * Math.max(1, max), name + " at " + i);
                }
            }
        }
    }

    @Test
    void factorizationIsLycoris() throws Exception {
        for (JsonNode f : Json.read(REFERENCE).get("factorization")) {
            long[] mn = LycorisAdapter.factorization(f.get(0).asLong(), f.get(1).asInt());
            assertArrayEquals(new long[] {f.get(2).asLong(), f.get(3).asLong()}, mn, "factorization(" + f.get(0) + ", " + f.get(1) + ")");
        }
    }

    @Test
    void newLokrModulesHaveLycorisShapesAndStartAtZero() throws Exception {
        try (Scope s = Scope.open()) {
            for (JsonNode c : Json.read(REFERENCE).get("lokr_shapes")) {
                int k = c.get("k").asInt();
                FakeHost host = k == 0 ? new FakeHost(c.get("out").asLong(), c.get("in").asLong())
                        : new FakeHost(c.get("out").asLong(), c.get("in").asLong(), k, k);
                int dim = c.get("dim").asInt();
                try (LycorisAdapter a = LycorisAdapter.createLokr(host, dim, 1.0, c.get("factor").asInt(), c.get("decompose_both").asBoolean(),
                        c.get("full_matrix").asBoolean(), Device.CPU)) {
                    Map<String, String> want = new TreeMap<>(), got = new TreeMap<>();
                    for (var e : c.get("tensors").properties()) want.put(e.getKey(), Arrays.toString(longs(e.getValue())));
                    for (var e : a.tensors().entrySet()) got.put(e.getKey(), Arrays.toString(e.getValue().shape()));
                    assertEquals(want, got, c.toString());
                    boolean unit = c.get("scale_is_one").asBoolean();
                    assertEquals(unit ? 1.0 : 1.0 / dim, a.scale(), 1e-12, "scale: " + c);
                    assertEquals(unit ? dim : 1.0, a.alpha(), 1e-12, "stored alpha (LyCORIS writes alpha = dim when both factors are full): " + c);
                    assertEquals(0.0, a.delta(DType.F32).abs().amax().item(), "a new LoKr adds nothing: " + c);
                    assertTrue(a.tensors().values().stream().allMatch(Tensor::requiresGrad));
                }
            }
        }
    }

    @Test
    void newLohaModulesHaveLycorisShapesAndStartAtZero() {
        try (Scope s = Scope.open(); LycorisAdapter lin = LycorisAdapter.createLoha(new FakeHost(320, 768), 8, 4, Device.CPU);
             LycorisAdapter conv = LycorisAdapter.createLoha(new FakeHost(64, 32, 3, 3), 4, 0, Device.CPU)) {
            assertEquals(List.of("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"), List.copyOf(lin.tensors().keySet()));
            assertArrayEquals(new long[] {320, 8}, lin.tensors().get("hada_w1_a").shape());
            assertArrayEquals(new long[] {8, 768}, lin.tensors().get("hada_w1_b").shape());
            assertArrayEquals(new long[] {32 * 9}, new long[] {conv.tensors().get("hada_w2_b").size(1)}, "conv flattened to (out, in*k*k)");
            assertEquals(0.5, lin.scale());
            assertEquals(1.0, conv.scale(), "alpha 0 means alpha = dim, as in LyCORIS");
            assertEquals(0.0, lin.delta(DType.F32).abs().amax().item(), "w2_a starts at zero");
            // LyCORIS's init: w1_b, w2_b ~ N(0, 1), w1_a ~ N(0, 0.1)
            double std1b = lin.tensors().get("hada_w1_b").pow(2).mean().sqrt().item();
            double std1a = lin.tensors().get("hada_w1_a").pow(2).mean().sqrt().item();
            assertEquals(1.0, std1b, 0.05);
            assertEquals(0.1, std1a, 0.01);
        }
    }

    @Test
    void forwardAddsTheInputTimesDelta() {
        try (Scope s = Scope.open()) {
            Rng.manualSeed(5);
            FakeHost lin = new FakeHost(12, 8), conv = new FakeHost(8, 6, 3, 3);
            LycorisAdapter a = LycorisAdapter.createLokr(lin, 2, 3.0, -1, false, false, Device.CPU);
            LycorisAdapter b = LycorisAdapter.createLoha(conv, 2, 1.0, Device.CPU);
            for (LycorisAdapter x : List.of(a, b)) for (Tensor t : x.tensors().values()) t.detach().normal_(0, 0.5);
            a.setMultiplier(0.5);
            Tensor x = Torch.randn(3, 8);
            assertArrayEquals(x.matmul(a.delta(DType.F32).transpose(0, 1)).toFloatArray(), a.apply(x).toFloatArray(), 1e-5f);
            Tensor delta = a.delta(DType.F32);
            a.setMultiplier(1);
            assertArrayEquals(delta.mul(2).toFloatArray(), a.delta(DType.F32).toFloatArray(), 1e-6f, "the multiplier scales ΔW");
            Tensor img = Torch.randn(2, 6, 5, 5);
            assertArrayEquals(Functional.conv2d(img, b.delta(DType.F32), null, 1, 1, 1).toFloatArray(), b.apply(img).toFloatArray(), 1e-5f);
            a.close();
            b.close();
        }
    }

    @Test
    void kronMatchesDefinition() {
        try (Scope s = Scope.open()) {
            Tensor x = Torch.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3), y = Torch.of(new float[] {1, -1, 0.5f, 2}, 2, 2);
            float[] k = LycorisAdapter.kron(x, y).toFloatArray();
            assertArrayEquals(new long[] {4, 6}, LycorisAdapter.kron(x, y).shape());
            float[] xv = x.toFloatArray(), yv = y.toFloatArray();
            for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int p = 0; p < 2; p++) for (int q = 0; q < 2; q++) {
                assertEquals(xv[i * 3 + j] * yv[p * 2 + q], k[(i * 2 + p) * 6 + j * 2 + q], 0f);
            }
        }
    }

    @Test
    void fileRoundTripKeepsKeysShapesAndOutputs(@TempDir Path dir) throws Exception {
        for (LycorisAdapter.Algo algo : LycorisAdapter.Algo.values()) {
            Path f = dir.resolve(algo.algo() + ".safetensors");
            Map<String, LoraHost> hosts = new LinkedHashMap<>();
            hosts.put("down.0.proj", new FakeHost(64, 32));
            hosts.put("down.0.conv", new FakeHost(16, 8, 3, 3));
            hosts.put("down.0.shortcut", new FakeHost(16, 8, 1, 1));
            try (Scope s = Scope.open()) {
                Rng.manualSeed(9);
                LoraSpec spec = new LoraSpec(4, 2, 0, 2, 1, false);
                Map<String, float[]> deltas = new LinkedHashMap<>();
                try (LycorisNetwork net = LycorisNetwork.inject(hosts, n -> true, spec, algo, LycorisNetwork.LokrOptions.DEFAULT, Device.CPU)) {
                    assertEquals(3, net.size());
                    for (LycorisAdapter a : net.adapters().values()) for (Tensor t : a.tensors().values()) t.detach().normal_(0, 0.3);
                    for (var e : net.adapters().entrySet()) deltas.put(e.getKey(), e.getValue().delta(DType.F32).toFloatArray());
                    List<String> names = net.trainableParameters(1, 3).stream().map(p -> p.name()).toList();
                    assertTrue(names.contains(algo == LycorisAdapter.Algo.LOHA ? "down.0.proj.hada_w2_a" : "down.0.proj.lokr_w1"), names.toString());
                    assertTrue(net.trainableParameters(1, 3).stream().allMatch(p -> p.lrScale() == 1), "LoRA+ speeds up no LoHa/LoKr tensor, as in LyCORIS");
                    LycorisFiles.write(f, List.of(new LycorisFiles.Part("lora_unet", net)), DType.BF16, Map.of("ss_network_module", "lycoris.kohya"));
                }
                try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                    for (TensorInfo t : sf.tensors()) assertEquals(DType.BF16, t.dtype(), t.name());
                    String p = algo == LycorisAdapter.Algo.LOHA ? "hada_" : "lokr_";
                    for (String n : sf.names()) assertTrue(n.startsWith("lora_unet_down_0_") && (n.contains("." + p) || n.endsWith(".alpha")), n);
                    assertArrayEquals(new long[0], sf.info("lora_unet_down_0_proj.alpha").shape());
                    assertEquals(algo == LycorisAdapter.Algo.LOHA ? 1.0 : 2.0, TensorIO.read(sf, "lora_unet_down_0_conv.alpha").to(DType.F32).item(),
                            "conv_alpha on the 3x3 convolution (LoKr with both factors full: alpha = conv dim)");
                    if (algo == LycorisAdapter.Algo.LOHA) {
                        assertArrayEquals(new long[] {64, 4}, sf.info("lora_unet_down_0_proj.hada_w1_a").shape());
                        assertArrayEquals(new long[] {2, 72}, sf.info("lora_unet_down_0_conv.hada_w2_b").shape());
                        assertArrayEquals(new long[] {4, 8}, sf.info("lora_unet_down_0_shortcut.hada_w1_b").shape(), "a 1x1 conv as linear");
                        assertEquals(2.0, TensorIO.read(sf, "lora_unet_down_0_proj.alpha").to(DType.F32).item());
                    } else {
                        // 64 = 8*8, 32 = 4*8; dim 4 >= max(8, 8)/2: full w2
                        assertArrayEquals(new long[] {8, 4}, sf.info("lora_unet_down_0_proj.lokr_w1").shape());
                        assertArrayEquals(new long[] {8, 8}, sf.info("lora_unet_down_0_proj.lokr_w2").shape());
                        // 16 = 4*4, 8 = 2*4; conv dim 2 >= 4/2: full 4-d w2
                        assertArrayEquals(new long[] {4, 4, 3, 3}, sf.info("lora_unet_down_0_conv.lokr_w2").shape());
                        assertEquals(4.0, TensorIO.read(sf, "lora_unet_down_0_proj.alpha").to(DType.F32).item(),
                                "both factors full: LyCORIS stores alpha = dim (scale 1)");
                    }
                    assertEquals(64, sf.metadata().get("sshs_model_hash").length());
                    assertEquals("lycoris.kohya", sf.metadata().get("ss_network_module"));
                }
                try (LycorisFiles.LycorisFile lf = LycorisFiles.read(f)) {
                    assertEquals(algo, lf.algo());
                    Map<String, LycorisNetwork> nets = LycorisFiles.attach(lf, Map.of("lora_unet", hosts), Map.of(), 1.0, Device.CPU);
                    try (LycorisNetwork net = nets.get("lora_unet")) {
                        assertEquals(3, net.size());
                        for (var e : net.adapters().entrySet()) {
                            float[] want = deltas.get(e.getKey()), got = e.getValue().delta(DType.F32).toFloatArray();
                            float max = 0;
                            for (float v : want) max = Math.max(max, Math.abs(v));
                            assertTrue(max > 1e-3, e.getKey());
                            assertArrayEquals(want, got, 0.03f * max, e.getKey() + ": the same update after a bf16 round trip");
                            assertTrue(hosts.get(e.getKey()).adapter() == e.getValue(), "attached");
                        }
                    }
                    assertTrue(hosts.values().stream().allMatch(h -> h.adapter() == null), "closing detaches");
                }
            }
        }
    }

    @Test
    void badFilesAreClearErrors(@TempDir Path dir) throws Exception {
        try (Scope s = Scope.open()) {
            Map<String, LoraHost> hosts = Map.of("proj", new FakeHost(64, 32));
            Path incomplete = dir.resolve("incomplete.safetensors");
            TensorIO.save(incomplete, Map.of("lora_unet_proj.hada_w1_a", Torch.zeros(64, 4), "lora_unet_proj.hada_w1_b", Torch.zeros(4, 32)), Map.of());
            var e = assertThrows(IllegalArgumentException.class, () -> LycorisFiles.read(incomplete));
            assertTrue(e.getMessage().contains("loha module lora_unet_proj is incomplete: hada_w2_a, hada_w2_b"), e.getMessage());

            Path dora = dir.resolve("dora.safetensors");
            TensorIO.save(dora, Map.of("lora_unet_proj.lokr_w1", Torch.zeros(8, 4), "lora_unet_proj.lokr_w2", Torch.zeros(8, 8),
                    "lora_unet_proj.dora_scale", Torch.zeros(64, 1)), Map.of());
            e = assertThrows(IllegalArgumentException.class, () -> LycorisFiles.read(dora));
            assertTrue(e.getMessage().contains("DoRA"), e.getMessage());

            Path wrong = dir.resolve("wrong.safetensors");
            TensorIO.save(wrong, Map.of("lora_unet_proj.lokr_w1", Torch.zeros(8, 4), "lora_unet_proj.lokr_w2", Torch.zeros(8, 16)), Map.of());
            try (LycorisFiles.LycorisFile lf = LycorisFiles.read(wrong)) {
                e = assertThrows(IllegalArgumentException.class, () -> LycorisFiles.attach(lf, Map.of("lora_unet", hosts), Map.of(), 1, Device.CPU));
                assertTrue(e.getMessage().contains("make an update of shape [64, 64], but the model's module has weight shape [64, 32]"), e.getMessage());
                assertTrue(hosts.values().stream().allMatch(h -> h.adapter() == null), "nothing attached after a failure");
            }
            Path other = dir.resolve("other.safetensors");
            TensorIO.save(other, Map.of("lora_unet_nope.lokr_w1", Torch.zeros(8, 4), "lora_unet_nope.lokr_w2", Torch.zeros(8, 8)), Map.of());
            try (LycorisFiles.LycorisFile lf = LycorisFiles.read(other)) {
                e = assertThrows(IllegalArgumentException.class, () -> LycorisFiles.attach(lf, Map.of("lora_unet", hosts), Map.of(), 1, Device.CPU));
                assertTrue(e.getMessage().contains("1 of 1 LyCORIS modules match no module of the model"), e.getMessage());
            }
            assertTrue(LycorisFiles.isLycoris(other));
            assertFalse(LycorisFiles.isLycorisKey("lora_unet_x.lora_down.weight"));
        }
    }
}
