package org.lorascripts.models.sd.unet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.load.TextEncoderSlot;
import org.lorascripts.models.sd.load.TinySd;
import org.lorascripts.models.sd.vae.AutoencoderKL;

class UnetModelTest {
    @TempDir static Path dir;
    static Path tiny, diffusers;

    @BeforeAll
    static void writeBothLayouts() throws Exception {
        tiny = dir.resolve("tiny.safetensors");
        TinySd.write(tiny);
        diffusers = dir.resolve("tiny-diffusers");
        try (SdCheckpoint c = SdCheckpointLoader.open(tiny)) {
            TinySd.writeDiffusersFolder(c, diffusers);
        }
    }

    private static Tensor[] inputs(long b, long h, long w, DType dt) {
        Rng.manualSeed(7);
        return new Tensor[] {
            Torch.randn(new long[] {b, 4, h, w}, dt, Device.CPU),
            Torch.of(new long[] {999, 10, 500}).narrow(0, 0, b),
            Torch.randn(new long[] {b, 77, 32}, dt, Device.CPU)};
    }

    @Test
    void bothLayoutsGiveIdenticalOutputs() throws Exception {
        try (SdCheckpoint ldm = SdCheckpointLoader.open(tiny); SdCheckpoint dif = SdCheckpointLoader.open(diffusers); Scope s = Scope.open()) {
            assertEquals(SdCheckpoint.Layout.LDM_SINGLE_FILE, ldm.layout());
            assertEquals(SdCheckpoint.Layout.DIFFUSERS, dif.layout());
            assertEquals(ldm.unetConfig(), dif.unetConfig());
            assertEquals(ldm.vaeConfig(), dif.vaeConfig());
            assertEquals(SdFamily.SD1, dif.family());
            Tensor[] in = inputs(2, 8, 8, DType.F32);
            try (UNet2DConditionModel a = ldm.loadUnet(Device.CPU, DType.F32); UNet2DConditionModel b = dif.loadUnet(Device.CPU, DType.F32)) {
                assertEquals(a.parameters().size(), b.parameters().size());
                float[] ya = a.forward(in[0], in[1], in[2]).toFloatArray();
                assertArrayEquals(ya, b.forward(in[0], in[1], in[2]).toFloatArray(), 0f);
                assertTrue(maxAbs(ya) > 1e-3, "the output is not trivially zero");
            }
            Tensor img = Torch.rand(new long[] {1, 3, 16, 16}, DType.F32, Device.CPU).mul(2).sub(1);
            try (AutoencoderKL a = ldm.loadVae(Device.CPU, DType.F32); AutoencoderKL b = dif.loadVae(Device.CPU, DType.F32)) {
                assertArrayEquals(a.encode(img).mean().toFloatArray(), b.encode(img).mean().toFloatArray(), 0f);
                Tensor lat = a.encodeToLatents(img, null);
                assertArrayEquals(a.decode(lat).toFloatArray(), b.decode(lat).toFloatArray(), 0f);
            }
            assertEquals(TextEncoderSlot.Layout.HF_CLIP, dif.textEncoder().layout());
            assertEquals("", dif.textEncoder().prefix());
        }
    }

    @Test
    void shapesForSeveralLatentSizes() throws Exception {
        try (SdCheckpoint c = SdCheckpointLoader.open(tiny); UNet2DConditionModel unet = c.loadUnet(Device.CPU, DType.F32); Scope s = Scope.open()) {
            for (long[] hw : new long[][] {{8, 8}, {16, 8}, {9, 7}, {4, 12}}) {
                Tensor[] in = inputs(2, hw[0], hw[1], DType.F32);
                assertArrayEquals(new long[] {2, 4, hw[0], hw[1]}, unet.forward(in[0], in[1], in[2]).shape());
            }
            Tensor[] in = inputs(1, 8, 8, DType.F32);
            Tensor longContext = Torch.randn(new long[] {1, 154, 32}, DType.F32, Device.CPU);  // 2 x 77 tokens
            assertArrayEquals(new long[] {1, 4, 8, 8}, unet.forward(in[0], Torch.scalar(3), longContext).shape());
        }
    }

    @Test
    void loraHostsCarryDiffusersNames() throws Exception {
        try (SdCheckpoint c = SdCheckpointLoader.open(tiny); UNet2DConditionModel unet = c.loadUnet(Device.CPU, DType.F32)) {
            Map<String, LoraHost> h = unet.loraHosts();
            String t = "down_blocks.0.attentions.0.transformer_blocks.0.";
            for (String n : List.of(t + "attn1.to_q", t + "attn1.to_k", t + "attn1.to_v", t + "attn1.to_out.0", t + "attn2.to_q", t + "attn2.to_k",
                    t + "ff.net.0.proj", t + "ff.net.2", "down_blocks.0.attentions.0.proj_in", "down_blocks.0.attentions.0.proj_out",
                    "mid_block.attentions.0.transformer_blocks.0.attn2.to_v", "up_blocks.1.attentions.1.proj_out",
                    "down_blocks.0.resnets.0.conv1", "down_blocks.0.resnets.0.time_emb_proj", "down_blocks.0.downsamplers.0.conv",
                    "up_blocks.0.upsamplers.0.conv", "up_blocks.1.resnets.0.conv_shortcut", "conv_in", "conv_out", "time_embedding.linear_1")) {
                assertTrue(h.containsKey(n), n + " in " + h.keySet());
            }
            assertEquals(LoraHost.Kind.CONV, h.get("down_blocks.0.attentions.0.proj_in").kind(), "SD 1.x: 1x1 conv");
            assertEquals(LoraHost.Kind.LINEAR, h.get(t + "ff.net.0.proj").kind());
            assertArrayEquals(new long[] {256, 32}, h.get(t + "ff.net.0.proj").weightShape(), "GEGLU: 2 x 4 x 32");
            assertArrayEquals(new long[] {32, 32}, h.get(t + "attn2.to_k").weightShape());
            assertFalse(h.keySet().stream().anyMatch(n -> n.contains("norm")), "norms are not LoRA hosts");
        }
    }

    @Test
    void convAndLinearProjectionsAgreeOnTheSameWeights(@TempDir Path tmp) throws Exception {
        UNetConfig conv = TinySd.unetConfig();
        UNetConfig lin = new UNetConfig(4, 4, 8, conv.blockOutChannels(), 1, conv.attentionHeadDim(), conv.downBlockTypes(), conv.upBlockTypes(),
                32, 1, true, 32, 1e-5, false, UNetConfig.Prediction.EPSILON);
        Path f = tmp.resolve("linear.safetensors");
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(5), Device.CPU, DType.F64)) {
            UNet2DConditionModel a = new UNet2DConditionModel(w, conv);
            Map<String, Tensor> squeezed = new LinkedHashMap<>();
            for (var e : a.parameters().entrySet()) {
                Tensor t = e.getValue();
                boolean proj = e.getKey().contains(".proj_in.weight") || e.getKey().contains(".proj_out.weight");
                squeezed.put(e.getKey(), proj ? t.reshape(t.size(0), t.size(1)) : t);
            }
            assertArrayEquals(new long[] {32, 32, 1, 1}, a.parameters().get("down_blocks.0.attentions.0.proj_in.weight").shape());
            TensorIO.save(f, squeezed, Map.of());
            Tensor[] in = inputs(2, 8, 8, DType.F64);
            double[] ya = a.forward(in[0], in[1], in[2]).toDoubleArray();
            try (SafetensorsFile sf = SafetensorsFile.open(f);
                 UNet2DConditionModel b = UNet2DConditionModel.load(lin, new CheckpointWeights(sf, "linear"), Device.CPU, DType.F64)) {
                assertEquals(LoraHost.Kind.LINEAR, b.loraHosts().get("down_blocks.0.attentions.0.proj_in").kind());
                assertArrayEquals(ya, b.forward(in[0], in[1], in[2]).toDoubleArray(), 1e-12);
            }
        }
    }

    @Test
    void gradientCheckpointingGivesTheSameLoraGradients() throws Exception {
        Map<String, double[]> plain = loraGrads(false, LoraAdapter.Decomposition.NONE), ckpt = loraGrads(true, LoraAdapter.Decomposition.NONE);
        assertEquals(plain.keySet(), ckpt.keySet());
        assertTrue(plain.size() > 50, "adapters on every linear and 1x1 conv: " + plain.size());
        for (String k : plain.keySet()) assertArrayEquals(plain.get(k), ckpt.get(k), 1e-5, k);
        assertTrue(maxAbs(plain.get("down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_down.weight")) > 0, "gradients reach the adapters");
        assertEquals(0, Checkpoint.pendingSegments());
    }

    /** DoRA's magnitude and its un-detached per-input norm pass their gradients through the checkpointed blocks too. */
    @Test
    void gradientCheckpointingGivesTheSameDoraGradients() throws Exception {
        Map<String, double[]> plain = loraGrads(false, LoraAdapter.Decomposition.INPUT), ckpt = loraGrads(true, LoraAdapter.Decomposition.INPUT);
        assertEquals(plain.keySet(), ckpt.keySet());
        String m = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.dora_scale";
        assertTrue(plain.containsKey(m) && maxAbs(plain.get(m)) > 0, "the magnitude gets a gradient");
        for (String k : plain.keySet()) assertArrayEquals(plain.get(k), ckpt.get(k), 1e-5, k);
        assertEquals(0, Checkpoint.pendingSegments());
    }

    private static Map<String, double[]> loraGrads(boolean checkpointing, LoraAdapter.Decomposition dora) throws Exception {
        try (SdCheckpoint c = SdCheckpointLoader.open(tiny); UNet2DConditionModel unet = c.loadUnet(Device.CPU, DType.F64); Scope s = Scope.open()) {
            Rng.manualSeed(1);
            try (LoraNetwork net = LoraNetwork.inject(unet.loraHosts(), n -> true, LoraSpec.of(2, 2), dora, Device.CPU)) {
                for (LoraAdapter a : net.adapters().values()) a.up().detach().normal_(0, 0.1);
                unet.setGradientCheckpointing(checkpointing);
                Tensor[] in = inputs(2, 8, 8, DType.F64);
                Tensor loss = unet.forward(in[0], in[1], in[2]).pow(2).mean();
                // down: 2 resnets + 1 transformer block; mid: 2 + 1; up: 2 resnets, then 2 resnets + 2 transformer blocks
                assertEquals(checkpointing ? 3 + 3 + 6 : 0, Checkpoint.pendingSegments(), "segments waiting for backward");
                loss.backward();
                Map<String, double[]> grads = new LinkedHashMap<>();
                for (var p : net.trainableParameters()) {
                    Tensor g = p.tensor().grad();
                    grads.put(p.name(), g == null ? new double[0] : g.toDoubleArray());
                }
                return grads;
            }
        }
    }

    static double maxAbs(float[] xs) {
        double m = 0;
        for (float x : xs) m = Math.max(m, Math.abs(x));
        return m;
    }

    static double maxAbs(double[] xs) {
        double m = 0;
        for (double x : xs) m = Math.max(m, Math.abs(x));
        return m;
    }

    static List<String> names(Map<String, ?> m) { return new ArrayList<>(m.keySet()); }
}
