package org.lorascripts.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.io.TensorInfo;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.clip.ClipTextModel;
import org.lorascripts.models.sd.clip.ClipTextWeights;
import org.lorascripts.nn.Linear;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/** kohya sd-scripts LoRA files: key names, dtypes, alpha, hashes, and loading back onto a model. */
class KohyaLoraFormatTest {
    static final Path CLIP = Path.of("src/test/resources/fixtures/hf/clip-sd1");
    static final String Q0 = "lora_te_text_model_encoder_layers_0_self_attn_q_proj";

    /** The fixture CLIP text model with a rank-4 (alpha 2) LoRA on all kohya targets, with non-zero up. */
    private static final class ClipWithLora implements AutoCloseable {
        final SafetensorsFile file;
        final Weights weights;
        final ClipTextModel model;
        final Tensor ids;

        ClipWithLora() throws Exception {
            file = SafetensorsFile.open(CLIP.resolve("model.safetensors"));
            weights = new Weights(ClipTextWeights.detect(file, "clip-sd1"), Device.CPU, DType.F32);
            model = new ClipTextModel(weights, ClipTextConfig.fromHfConfig(CLIP.resolve("config.json")));
            try (SafetensorsFile e = SafetensorsFile.open(CLIP.resolve("expected.safetensors"))) {
                ids = TensorIO.read(e, "input_ids").keep();
            }
        }

        LoraNetwork inject(long seed) {
            Rng.manualSeed(seed);
            LoraNetwork net = LoraNetwork.inject(model.loraHosts(), n -> true, LoraSpec.of(4, 2), Device.CPU);
            for (LoraAdapter a : net.adapters().values()) a.up().detach().normal_(0, 0.2);
            return net;
        }

        float[] forward() { return model.forward(ids).lastHiddenState().toFloatArray(); }

        @Override public void close() {
            ids.close();
            weights.close();
            file.close();
        }
    }

    @Test
    void keyNamesShapesAndDTypesAreKohyas(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("te.safetensors");
        try (Scope s = Scope.open(); ClipWithLora m = new ClipWithLora(); LoraNetwork net = m.inject(1)) {
            KohyaLoraWriter.write(f, List.of(new KohyaLoraWriter.Part(KohyaLoraWriter.PREFIX_TEXT_ENCODER, net)), DType.F16, Map.of("ss_network_dim", "4"));
            try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                assertEquals(18 * 3, sf.names().size(), "down, up and alpha for 6 linears in each of 3 layers");
                assertArrayEquals(new long[] {4, 32}, sf.info(Q0 + ".lora_down.weight").shape());
                assertArrayEquals(new long[] {32, 4}, sf.info(Q0 + ".lora_up.weight").shape());
                assertArrayEquals(new long[0], sf.info(Q0 + ".alpha").shape());
                assertArrayEquals(new long[] {37, 4}, sf.info("lora_te_text_model_encoder_layers_2_mlp_fc1.lora_up.weight").shape());
                assertTrue(sf.contains("lora_te_text_model_encoder_layers_1_self_attn_out_proj.lora_down.weight"));
                for (TensorInfo t : sf.tensors()) assertEquals(DType.F16, t.dtype(), t.name() + " is saved in the save precision");
                try (Tensor alpha = TensorIO.read(sf, Q0 + ".alpha")) {
                    assertEquals(2.0, alpha.item());
                }
                // fp16 values are the fp32 masters rounded once
                Tensor master = net.adapters().get("text_model.encoder.layers.0.self_attn.q_proj").down();
                assertArrayEquals(master.to(DType.F16).to(DType.F32).toFloatArray(), TensorIO.read(sf, Q0 + ".lora_down.weight").to(DType.F32).toFloatArray(), 0f);
                assertEquals("4", sf.metadata().get("ss_network_dim"));
                assertEquals(64, sf.metadata().get("sshs_model_hash").length());
                assertEquals(8, sf.metadata().get("sshs_legacy_hash").length());
            }
        }
    }

    @Test
    void roundTripGivesIdenticalTensorsAndOutputs(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("te.safetensors");
        try (Scope s = Scope.open(); ClipWithLora m = new ClipWithLora()) {
            float[] withLora;
            Map<String, float[]> saved = new LinkedHashMap<>();
            try (LoraNetwork net = m.inject(2)) {
                withLora = m.forward();
                for (var e : net.adapters().entrySet()) {
                    saved.put(e.getKey() + "/down", e.getValue().down().toFloatArray());
                    saved.put(e.getKey() + "/up", e.getValue().up().toFloatArray());
                }
                KohyaLoraWriter.write(f, List.of(new KohyaLoraWriter.Part("lora_te", net)), DType.F32, Map.of());
            }
            float[] base = m.forward();
            assertFalse(Arrays.equals(base, withLora), "the LoRA changes the output");
            try (KohyaLoraReader.LoraFile lf = KohyaLoraReader.read(f)) {
                assertEquals(18, lf.modules().size());
                KohyaLoraReader.Module q = lf.modules().get(Q0);
                assertEquals(4, q.rank());
                assertEquals(2.0, q.alpha());
                assertEquals(0.5, q.scale());
                assertArrayEquals(saved.get("text_model.encoder.layers.0.self_attn.q_proj/down"), q.down().toFloatArray(), 0f);
                Map<String, LoraNetwork> nets = KohyaLoraReader.attach(lf, Map.of("lora_te", m.model.loraHosts()), 1.0, Device.CPU);
                try (LoraNetwork net = nets.get("lora_te")) {
                    assertEquals(18, net.size());
                    for (var e : net.adapters().entrySet()) {
                        assertArrayEquals(saved.get(e.getKey() + "/down"), e.getValue().down().toFloatArray(), 0f);
                        assertArrayEquals(saved.get(e.getKey() + "/up"), e.getValue().up().toFloatArray(), 0f);
                        assertEquals(0.5, e.getValue().scale(), "scale = alpha / rank");
                        assertTrue(e.getValue().down().requiresGrad(), "loaded weights can continue training");
                    }
                    assertArrayEquals(withLora, m.forward(), 0f);
                    // <lora:name:0.5>: half the delta on each module
                    Linear qProj = (Linear) m.model.loraHosts().get("text_model.encoder.layers.0.self_attn.q_proj");
                    Tensor x = org.lorascripts.tensor.Torch.randn(3, 32);
                    Tensor full = qProj.forward(x);
                    net.setMultiplier(0.5);
                    Tensor half = qProj.forward(x);
                    net.setMultiplier(0);
                    Tensor none = qProj.forward(x);
                    assertArrayEquals(full.sub(none).mul(0.5).toFloatArray(), half.sub(none).toFloatArray(), 1e-5f);
                    assertTrue(full.sub(none).abs().amax().item() > 1e-3);
                }
            }
            assertArrayEquals(base, m.forward(), 0f, "closing the network detaches it");
        }
    }

    @Test
    void missingAlphaMeansAlphaEqualsRank(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("old.safetensors");
        try (Scope s = Scope.open(); ClipWithLora m = new ClipWithLora()) {
            Rng.manualSeed(3);
            TensorIO.save(f, Map.of(Q0 + ".lora_down.weight", org.lorascripts.tensor.Torch.randn(8, 32).to(DType.F16),
                    Q0 + ".lora_up.weight", org.lorascripts.tensor.Torch.randn(32, 8).to(DType.F16)), Map.of());
            try (var nets = new AutoCloseableMap(KohyaLoraReader.load(f, Map.of("lora_te", m.model.loraHosts()), 1.0, Device.CPU))) {
                LoraAdapter a = nets.map.get("lora_te").adapters().get("text_model.encoder.layers.0.self_attn.q_proj");
                assertEquals(8, a.rank());
                assertEquals(8.0, a.alpha());
                assertEquals(1.0, a.scale());
            }
        }
    }

    private record AutoCloseableMap(Map<String, LoraNetwork> map) implements AutoCloseable {
        @Override public void close() { map.values().forEach(LoraNetwork::close); }
    }

    @Test
    void unknownKeysAndShapeMismatchesAreClearErrors(@TempDir Path dir) throws Exception {
        try (Scope s = Scope.open(); ClipWithLora m = new ClipWithLora()) {
            Path unknown = dir.resolve("unknown.safetensors");
            TensorIO.save(unknown, Map.of("lora_te_text_model_encoder_layers_7_self_attn_q_proj.lora_down.weight", org.lorascripts.tensor.Torch.zeros(4, 32),
                    "lora_te_text_model_encoder_layers_7_self_attn_q_proj.lora_up.weight", org.lorascripts.tensor.Torch.zeros(32, 4)), Map.of());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> KohyaLoraReader.load(unknown, Map.of("lora_te", m.model.loraHosts()), 1.0, Device.CPU));
            assertTrue(e.getMessage().contains("1 of 1 LoRA modules match no module of the model"), e.getMessage());
            assertTrue(e.getMessage().contains("lora_te_text_model_encoder_layers_7_self_attn_q_proj"), e.getMessage());
            assertTrue(e.getMessage().contains("lora_te_text_model_encoder_layers_0_self_attn_q_proj"), "names a few of the model's: " + e.getMessage());

            Path wrong = dir.resolve("wrong.safetensors");
            TensorIO.save(wrong, Map.of(Q0 + ".lora_down.weight", org.lorascripts.tensor.Torch.zeros(4, 768),
                    Q0 + ".lora_up.weight", org.lorascripts.tensor.Torch.zeros(768, 4)), Map.of());
            e = assertThrows(IllegalArgumentException.class, () -> KohyaLoraReader.load(wrong, Map.of("lora_te", m.model.loraHosts()), 1.0, Device.CPU));
            assertTrue(e.getMessage().contains(Q0 + ".lora_down.weight has shape [4, 768], but the model's module needs [4, 32]"), e.getMessage());
            assertTrue(m.model.loraHosts().values().stream().allMatch(h -> h.adapter() == null), "nothing attached after a failure");

            Path loha = dir.resolve("loha.safetensors");
            TensorIO.save(loha, Map.of(Q0 + ".hada_w1_a", org.lorascripts.tensor.Torch.zeros(32, 4)), Map.of());
            e = assertThrows(IllegalArgumentException.class, () -> KohyaLoraReader.read(loha));
            assertTrue(e.getMessage().contains("not plain LoRA"), e.getMessage());
        }
    }

    private static String sha256(byte[] b, int from, int to) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        if (from < to) md.update(b, from, to - from);
        return HexFormat.of().formatHex(md.digest());
    }

    /** kohya's hashes, recomputed from files: model = sha256 after the header, legacy = sha256 of [1 MiB, +64 KiB)[:8]. */
    @Test
    void hashesAreKohyasAddnetHashes(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("big.safetensors");
        Map<String, String> meta = Map.of("ss_network_dim", "256", "ss_network_alpha", "128.0", "modelspec.title", "not hashed");
        KohyaLoraWriter.Hashes h;
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(4), Device.CPU, DType.F32)) {
            new Linear(w.pp("blocks").pp(0).pp("proj"), 1024, 1024, false);
            new Linear(w.pp("blocks").pp(1).pp("proj"), 1024, 1024, false);
            Map<String, LoraHost> hosts = w.loraHosts();
            try (LoraNetwork net = LoraNetwork.inject(hosts, n -> true, LoraSpec.of(256, 128), Device.CPU)) {
                for (LoraAdapter a : net.adapters().values()) a.up().detach().normal_(0, 0.1);
                h = KohyaLoraWriter.write(f, List.of(new KohyaLoraWriter.Part("lora_unet", net)), DType.F16, meta);
            }
        }
        byte[] file = Files.readAllBytes(f);
        assertTrue(file.length > 0x110000, "large enough for the legacy window");
        int dataStart = 8 + (int) ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(sha256(file, dataStart, file.length), h.modelHash(), "model hash: sha256 of the data after the header");

        // the legacy hash is taken over the file serialised with only the ss_* metadata, as kohya does
        Path hashCopy = dir.resolve("ss-only.safetensors");
        try (Scope s = Scope.open(); SafetensorsFile sf = SafetensorsFile.open(f)) {
            assertEquals(h.modelHash(), sf.metadata().get("sshs_model_hash"));
            assertEquals(h.legacyHash(), sf.metadata().get("sshs_legacy_hash"));
            assertEquals("not hashed", sf.metadata().get("modelspec.title"));
            SafetensorsWriter w = new SafetensorsWriter().putMetadata(Map.of("ss_network_dim", "256", "ss_network_alpha", "128.0"));
            for (String n : sf.names()) TensorIO.add(w, n, TensorIO.read(sf, n), sf.info(n).dtype());
            w.write(hashCopy);
        }
        byte[] copy = Files.readAllBytes(hashCopy);
        assertEquals(sha256(copy, 0x100000, Math.min(copy.length, 0x110000)).substring(0, 8), h.legacyHash());

        // a file under 1 MiB has an empty legacy window: sha256("")
        Path small = dir.resolve("small.safetensors");
        try (Scope s = Scope.open(); ClipWithLora m = new ClipWithLora(); LoraNetwork net = m.inject(4)) {
            KohyaLoraWriter.Hashes hs = KohyaLoraWriter.write(small, List.of(new KohyaLoraWriter.Part("lora_te", net)), DType.F16, Map.of());
            assertEquals("e3b0c442", hs.legacyHash());
            byte[] b = Files.readAllBytes(small);
            int ds = 8 + (int) ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(sha256(b, ds, b.length), hs.modelHash());
        }
    }

    @Test
    void bf16AndTwoNetworksInOneFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("two.safetensors");
        try (Scope s = Scope.open(); ClipWithLora m = new ClipWithLora(); LoraNetwork te = m.inject(5);
             Weights w = new Weights(new RandomWeights(6), Device.CPU, DType.F32)) {
            new Linear(w.pp("down_blocks").pp(0).pp("attentions").pp(0).pp("proj_in"), 8, 8, true);
            try (LoraNetwork unet = LoraNetwork.inject(w.loraHosts(), n -> true, LoraSpec.of(2, 1), Device.CPU)) {
                KohyaLoraWriter.write(f, List.of(new KohyaLoraWriter.Part("lora_te", te), new KohyaLoraWriter.Part("lora_unet", unet)), DType.BF16, Map.of());
                try (SafetensorsFile sf = SafetensorsFile.open(f)) {
                    assertTrue(sf.contains("lora_unet_down_blocks_0_attentions_0_proj_in.alpha"));
                    assertEquals(DType.BF16, sf.info(Q0 + ".lora_up.weight").dtype());
                }
                Map<String, LoraNetwork> nets = KohyaLoraReader.load(f, Map.of("lora_te", m.model.loraHosts(), "lora_unet", w.loraHosts()), 1.0, Device.CPU);
                try (var all = new AutoCloseableMap(nets)) {
                    assertEquals(18, nets.get("lora_te").size());
                    assertEquals(1, nets.get("lora_unet").size());
                    assertEquals(0.5, nets.get("lora_unet").adapters().get("down_blocks.0.attentions.0.proj_in").scale());
                }
            }
        }
    }
}
