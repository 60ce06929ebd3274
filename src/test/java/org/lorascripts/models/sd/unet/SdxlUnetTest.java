package org.lorascripts.models.sd.unet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.nn.ShapeOnlyWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.load.TinySdxl;

/** The SDXL UNet: config, the added condition, per-level transformer depth, checkpointing, full-size shapes. */
class SdxlUnetTest {
    @TempDir static Path dir;
    static Path folder;

    @BeforeAll
    static void write() throws Exception {
        folder = TinySdxl.writeDiffusers(dir.resolve("tiny-sdxl"));
    }

    static UNetConfig sdxlBaseJson() throws Exception {
        try (InputStream in = SdxlUnetTest.class.getResourceAsStream("/fixtures/sdxl-base/unet-config.json")) {
            return UNetConfig.fromJson(Json.parse(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)),
                    "sdxl-base/unet/config.json", UNetConfig.Prediction.EPSILON);
        }
    }

    @Test
    void theSdxlBaseConfigParses() throws Exception {
        UNetConfig c = sdxlBaseJson();
        assertEquals(UNetConfig.sdxl(), c);
        assertEquals(List.of(320, 640, 1280), c.blockOutChannels());
        assertEquals(List.of(1, 2, 10), c.transformerLayersPerBlock());
        assertEquals(10, c.midTransformerDepth());
        assertEquals(List.of(5, 10, 20), c.attentionHeadDim(), "head counts (diffusers' attention_head_dim)");
        for (int i = 0; i < 3; i++) assertEquals(64, c.blockOutChannels().get(i) / c.attentionHeadDim().get(i), "64 channels per head");
        assertEquals(List.of(UNetConfig.DOWN, UNetConfig.CROSS_DOWN, UNetConfig.CROSS_DOWN), c.downBlockTypes());
        assertEquals(List.of(UNetConfig.CROSS_UP, UNetConfig.CROSS_UP, UNetConfig.UP), c.upBlockTypes());
        assertEquals(2048, c.crossAttentionDim());
        assertEquals(new UNetConfig.TextTime(256, 2816), c.textTime());
        assertEquals(1280, c.timeEmbedDim());
        assertEquals(128, c.sampleSize());
        assertTrue(c.useLinearProjection());
        assertFalse(c.upcastAttention(), "upcast_attention null is false");
        // what we write reads back the same
        assertEquals(c, UNetConfig.fromJson(Json.parse(c.toDiffusersJson()), "written", UNetConfig.Prediction.EPSILON));
        // SD 1.x configs still write one depth
        assertTrue(UNetConfig.sd15().toDiffusersJson().contains("\"transformer_layers_per_block\": 1,"));
    }

    @Test
    void unsupportedAdditionTypesAreRefusedByName() {
        for (String type : List.of("text", "image", "text_image", "image_hint")) {
            var e = assertThrows(UnsupportedOperationException.class, () -> UNetConfig.fromJson(
                    Json.parse("{\"addition_embed_type\": \"" + type + "\"}"), "x/unet/config.json", UNetConfig.Prediction.EPSILON));
            assertEquals("x/unet/config.json: addition_embed_type = " + type + " is not supported (only SDXL's text_time)", e.getMessage());
        }
        var e = assertThrows(IllegalArgumentException.class, () -> UNetConfig.fromJson(
                Json.parse("{\"addition_embed_type\": \"text_time\", \"addition_time_embed_dim\": 256}"), "x/unet/config.json", UNetConfig.Prediction.EPSILON));
        assertEquals("x/unet/config.json: addition_embed_type text_time needs projection_class_embeddings_input_dim", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> UNetConfig.fromJson(
                Json.parse("{\"block_out_channels\": [32, 64], \"attention_head_dim\": [2, 2], \"transformer_layers_per_block\": [1, 2, 3],"
                        + " \"down_block_types\": [\"CrossAttnDownBlock2D\", \"DownBlock2D\"], \"up_block_types\": [\"UpBlock2D\", \"CrossAttnUpBlock2D\"]}"),
                "x/unet/config.json", UNetConfig.Prediction.EPSILON));
        assertTrue(e.getMessage().startsWith("x/unet/config.json: transformer_layers_per_block [1, 2, 3] needs one entry per block"), e.getMessage());
    }

    @Test
    void fullSizeSdxlHasTheKnownParameterCountAndDepths() {
        try (Weights w = new Weights(new ShapeOnlyWeights(), Device.CPU, DType.F32)) {
            UNet2DConditionModel unet = new UNet2DConditionModel(w, UNetConfig.sdxl());
            assertEquals(2_567_463_684L, ShapeOnlyWeights.parameterCount(w));
            Map<String, long[]> s = w.loadedShapes();
            assertArrayEquals(new long[] {1280, 2816}, s.get("add_embedding.linear_1.weight"));
            assertArrayEquals(new long[] {1280, 1280}, s.get("add_embedding.linear_2.weight"));
            assertArrayEquals(new long[] {1280, 320}, s.get("time_embedding.linear_1.weight"));
            assertArrayEquals(new long[] {1280, 2048}, s.get("mid_block.attentions.0.transformer_blocks.9.attn2.to_k.weight"));
            assertArrayEquals(new long[] {640, 640}, s.get("down_blocks.1.attentions.1.proj_in.weight"), "linear projections");
            Map<String, LoraHost> h = unet.loraHosts();
            // depth per level: down [-, 2, 10], mid 10, up [10, 2, -]
            assertEquals(0, blocks(h, "down_blocks.0.attentions.0."));
            for (int j = 0; j < 2; j++) {
                assertEquals(2, blocks(h, "down_blocks.1.attentions." + j + "."));
                assertEquals(10, blocks(h, "down_blocks.2.attentions." + j + "."));
            }
            assertEquals(10, blocks(h, "mid_block.attentions.0."));
            for (int j = 0; j < 3; j++) {
                assertEquals(10, blocks(h, "up_blocks.0.attentions." + j + "."));
                assertEquals(2, blocks(h, "up_blocks.1.attentions." + j + "."));
                assertEquals(0, blocks(h, "up_blocks.2.attentions." + j + "."));
            }
            assertTrue(h.containsKey("down_blocks.0.downsamplers.0.conv") && h.containsKey("down_blocks.1.downsamplers.0.conv"));
            assertFalse(h.containsKey("down_blocks.2.downsamplers.0.conv"));
            assertTrue(h.containsKey("up_blocks.0.upsamplers.0.conv") && h.containsKey("up_blocks.1.upsamplers.0.conv"));
            assertFalse(h.containsKey("up_blocks.2.upsamplers.0.conv"));
        }
    }

    private static int blocks(Map<String, LoraHost> hosts, String attention) {
        int k = 0;
        while (hosts.containsKey(attention + "transformer_blocks." + k + ".attn1.to_q")) k++;
        return k;
    }

    @Test
    void theAddedConditionMovesTheOutput() throws Exception {
        try (UNet2DConditionModel unet = TinySdxl.loadDiffusers(folder, DType.F32); Scope s = Scope.open()) {
            TinySdxl.Inputs in = TinySdxl.inputs(DType.F32);
            Tensor y = in.run(unet);
            assertArrayEquals(new long[] {2, 4, 8, 8}, y.shape());
            assertArrayEquals(y.toFloatArray(), in.run(unet).toFloatArray(), 0f, "deterministic");
            Tensor otherIds = in.added().timeIds().mul(0.5);
            Tensor y2 = unet.forward(in.latents(), in.timesteps(), in.context(), new AddedConditions(in.added().textEmbeds(), otherIds));
            assertTrue(maxAbsDiff(y, y2) > 1e-4, "other time ids, other output: " + maxAbsDiff(y, y2));
            Tensor y3 = unet.forward(in.latents(), in.timesteps(), in.context(), new AddedConditions(in.added().textEmbeds().neg(), in.added().timeIds()));
            assertTrue(maxAbsDiff(y, y3) > 1e-4, "another pooled text embedding, another output");
            // each example only sees its own time ids
            Tensor swapped = Torch.cat(List.of(in.added().timeIds().narrow(0, 0, 1), otherIds.narrow(0, 1, 1)), 0);
            Tensor y4 = unet.forward(in.latents(), in.timesteps(), in.context(), new AddedConditions(in.added().textEmbeds(), swapped));
            assertEquals(0, maxAbsDiff(y.narrow(0, 0, 1), y4.narrow(0, 0, 1)), 1e-6);
            assertTrue(maxAbsDiff(y.narrow(0, 1, 1), y4.narrow(0, 1, 1)) > 1e-4);
        }
    }

    /**
     * add_time_proj + add_embedding against the formula written out in doubles: for each id v and
     * k < C/2, [cos(v f_k)..., sin(v f_k)...] with f_k = exp(-ln(10000) k / (C/2)), the pooled text in
     * front, then linear_2(silu(linear_1(x))).
     */
    @Test
    void theAddedEmbeddingIsDiffusersTextTime() throws Exception {
        try (UNet2DConditionModel unet = TinySdxl.loadDiffusers(folder, DType.F64); Scope s = Scope.open()) {
            UNetConfig c = unet.config();
            TinySdxl.Inputs in = TinySdxl.inputs(DType.F64);
            TextTimeEmbedding emb = new TextTimeEmbedding(new Weights(new org.lorascripts.nn.WeightSource() {
                @Override public java.util.Optional<long[]> shape(String name) { return java.util.Optional.of(unet.parameters().get(name).shape()); }
                @Override public Tensor load(String name, long[] shape, Device d, DType dt) { return unet.parameters().get(name).contiguous(); }
                @Override public String describe() { return "the loaded UNet"; }
            }, Device.CPU, DType.F64).pp("add_embedding"), c.textTime(), c.timeEmbedDim());
            double[] got = emb.forward(in.added(), 2, DType.F64).toDoubleArray();

            int b = 2, p = TinySdxl.POOLED, k = TinySdxl.TIME_IDS, ch = c.textTime().timeEmbedDim(), half = ch / 2, t = c.timeEmbedDim();
            double[] text = in.added().textEmbeds().toDoubleArray();
            float[] ids = in.added().timeIds().toFloatArray();
            double[] w1 = unet.parameters().get("add_embedding.linear_1.weight").toDoubleArray(), b1 = unet.parameters().get("add_embedding.linear_1.bias").toDoubleArray();
            double[] w2 = unet.parameters().get("add_embedding.linear_2.weight").toDoubleArray(), b2 = unet.parameters().get("add_embedding.linear_2.bias").toDoubleArray();
            int inDim = p + k * ch;
            double[] want = new double[b * t];
            float lnMax = (float) -Math.log(10000);   // as torch: f32 arange x scalar / half, then exp
            for (int e = 0; e < b; e++) {
                double[] x = new double[inDim];
                for (int i = 0; i < p; i++) x[i] = text[e * p + i];
                for (int id = 0; id < k; id++) {
                    float v = ids[e * k + id];
                    for (int f = 0; f < half; f++) {
                        float freq = (float) Math.exp(((float) f * lnMax) / (float) half);
                        float arg = v * freq;
                        x[p + id * ch + f] = (float) Math.cos(arg);
                        x[p + id * ch + half + f] = (float) Math.sin(arg);
                    }
                }
                double[] h = new double[t];
                for (int o = 0; o < t; o++) {
                    double a = b1[o];
                    for (int i = 0; i < inDim; i++) a += w1[o * inDim + i] * x[i];
                    h[o] = a / (1 + Math.exp(-a));
                }
                for (int o = 0; o < t; o++) {
                    double a = b2[o];
                    for (int i = 0; i < t; i++) a += w2[o * t + i] * h[i];
                    want[e * t + o] = a;
                }
            }
            assertArrayEquals(want, got, 1e-7);
        }
    }

    @Test
    void aMissingAddedConditionSaysWhatToPass() throws Exception {
        try (UNet2DConditionModel unet = TinySdxl.loadDiffusers(folder, DType.F32); Scope s = Scope.open()) {
            TinySdxl.Inputs in = TinySdxl.inputs(DType.F32);
            var e = assertThrows(IllegalArgumentException.class, () -> unet.forward(in.latents(), in.timesteps(), in.context()));
            assertEquals("UNet2DConditionModel: this UNet takes SDXL's added conditions (addition_embed_type text_time); call forward(latents, timesteps,"
                    + " encoderHiddenStates, new AddedConditions(textEmbeds, timeIds)) with the pooled text embedding (B, P) and the time ids (B, K),"
                    + " P + K x 8 = 80 (SDXL: P = 1280, K = 6: original height, width, crop top, left, target height, width)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new AddedConditions(in.added().textEmbeds(), null));
            assertEquals("AddedConditions: timeIds is missing; pass the time ids (B, 6): original height, width, crop top, left, target height, width", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> new AddedConditions(null, in.added().timeIds()));
            assertTrue(e.getMessage().startsWith("AddedConditions: textEmbeds is missing; pass the pooled text embedding (B, P)"), e.getMessage());
            Tensor fiveIds = in.added().timeIds().narrow(1, 0, 5);
            e = assertThrows(IllegalArgumentException.class, () -> unet.forward(in.latents(), in.timesteps(), in.context(),
                    new AddedConditions(in.added().textEmbeds(), fiveIds)));
            assertEquals("AddedConditions: textEmbeds (B, 32) and timeIds (B, 5) give 32 + 5 x 8 = 72 features; add_embedding takes 80"
                    + " (projection_class_embeddings_input_dim; SDXL: pooled text (B, 1280) and 6 time ids)", e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> unet.forward(in.latents(), in.timesteps(), in.context(),
                    new AddedConditions(in.added().textEmbeds().narrow(0, 0, 1), in.added().timeIds().narrow(0, 0, 1))));
            assertTrue(e.getMessage().contains("with B = 2 (the latents' batch)"), e.getMessage());
            for (Throwable t : List.<Throwable>of(e)) assertFalse(t.getMessage().contains("\n"));
        }
    }

    @Test
    void aUnetWithoutAddedConditionsRefusesThem() throws Exception {
        try (Scope s = Scope.open(); Weights w = new Weights(new org.lorascripts.nn.RandomWeights(3), Device.CPU, DType.F32)) {
            UNet2DConditionModel sd1 = new UNet2DConditionModel(w, org.lorascripts.models.sd.load.TinySd.unetConfig());
            TinySdxl.Inputs in = TinySdxl.inputs(DType.F32);
            Tensor ctx = Torch.randn(new long[] {2, 77, 32}, DType.F32, Device.CPU);
            var e = assertThrows(IllegalArgumentException.class, () -> sd1.forward(in.latents(), in.timesteps(), ctx, in.added()));
            assertEquals("UNet2DConditionModel: this UNet has no added conditions (no addition_embed_type in its config);"
                    + " call forward(latents, timesteps, encoderHiddenStates) without AddedConditions", e.getMessage());
            assertArrayEquals(new long[] {2, 4, 8, 8}, sd1.forward(in.latents(), in.timesteps(), ctx).shape());
        }
    }

    @Test
    void gradientCheckpointingGivesTheSameOutputAndGradients() throws Exception {
        Map<String, double[]> plain = loraGrads(false), ckpt = loraGrads(true);
        assertEquals(plain.keySet(), ckpt.keySet());
        assertArrayEquals(plain.get("output"), ckpt.get("output"), 1e-12, "same output");
        for (String k : plain.keySet()) assertArrayEquals(plain.get(k), ckpt.get(k), 1e-9, k);
        for (String k : List.of("down_blocks.2.attentions.1.transformer_blocks.2.attn1.to_q.lora_down.weight",
                "mid_block.attentions.0.transformer_blocks.2.ff.net.2.lora_down.weight",
                "up_blocks.1.attentions.2.transformer_blocks.1.attn2.to_v.lora_down.weight",
                "add_embedding.linear_1.lora_down.weight")) {
            assertTrue(maxAbs(plain.get(k)) > 0, "gradients reach " + k);
        }
        assertEquals(0, Checkpoint.pendingSegments());
    }

    private static Map<String, double[]> loraGrads(boolean checkpointing) throws Exception {
        try (UNet2DConditionModel unet = TinySdxl.loadDiffusers(folder, DType.F64); Scope s = Scope.open()) {
            org.lorascripts.tensor.Rng.manualSeed(1);
            try (LoraNetwork net = LoraNetwork.inject(unet.loraHosts(), n -> true, LoraSpec.of(2, 2), Device.CPU)) {
                for (LoraAdapter a : net.adapters().values()) a.up().detach().normal_(0, 0.1);
                unet.setGradientCheckpointing(checkpointing);
                TinySdxl.Inputs in = TinySdxl.inputs(DType.F64);
                Tensor y = in.run(unet);
                // resnets: down 2 + 2 + 2, mid 2, up 3 x 3 = 17; transformer blocks: down 2x2 + 2x3, mid 3, up 3x3 + 3x2 = 28
                assertEquals(checkpointing ? 17 + 28 : 0, Checkpoint.pendingSegments(), "segments waiting for backward");
                y.pow(2).mean().backward();
                Map<String, double[]> grads = new LinkedHashMap<>();
                grads.put("output", y.detach().toDoubleArray());
                for (var p : net.trainableParameters()) {
                    Tensor g = p.tensor().grad();
                    grads.put(p.name(), g == null ? new double[0] : g.toDoubleArray());
                }
                return grads;
            }
        }
    }

    private static double maxAbsDiff(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
        return m;
    }

    private static double maxAbs(double[] xs) {
        double m = 0;
        for (double x : xs) m = Math.max(m, Math.abs(x));
        return m;
    }
}
