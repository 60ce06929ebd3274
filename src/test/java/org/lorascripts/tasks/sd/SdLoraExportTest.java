package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.BaseModel;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.nn.LoraHost;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.SdPipeline;

/** The exported file is kohya's: key names, shapes, metadata; loading it back reproduces the trained UNet. */
class SdLoraExportTest {
    @TempDir Path dir;

    /**
     * kohya's names for the tiny UNet, built from the host list and the module types as kohya's
     * create_modules sees them (not from SdLoraTargets): Transformer2DModel children always, and
     * ResnetBlock2D / Downsample2D / Upsample2D children with conv_dim.
     */
    static Map<String, long[][]> expectedUnetKeys(Map<String, LoraHost> hosts, int rank, int convRank) {
        Map<String, long[][]> m = new TreeMap<>();
        for (var e : hosts.entrySet()) {
            String path = e.getKey();
            boolean transformer = path.matches(".*\\.attentions\\.\\d+\\..*");
            boolean convBlock = path.matches(".*\\.(resnets|downsamplers|upsamplers)\\.\\d+\\..*");
            if (!transformer && !(convRank > 0 && convBlock)) continue;
            long[] w = e.getValue().weightShape();
            boolean conv3 = w.length == 4 && w[2] > 1;
            int r = conv3 ? convRank : rank;
            long[] down = w.length == 2 ? new long[] {r, w[1]} : new long[] {r, w[1], w[2], w[3]};
            long[] up = w.length == 2 ? new long[] {w[0], r} : new long[] {w[0], r, 1, 1};
            m.put("lora_unet_" + path.replace('.', '_'), new long[][] {down, up});
        }
        return m;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 2})
    void keysAndShapesAreKohyas(int convRank) throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 2), dir.resolve("out"));
        cfg.put("conv_rank", convRank);
        Path file = dir.resolve("lora.safetensors");
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            Map<String, long[][]> expected = expectedUnetKeys(task.pipeline().unet().loraHosts(), 4, convRank);
            assertTrue(expected.keySet().stream().anyMatch(k -> k.endsWith("_attn2_to_k")), "cross-attention is targeted");
            if (convRank > 0) assertTrue(expected.keySet().stream().anyMatch(k -> k.endsWith("_resnets_0_conv1")));
            task.exportAdapter(file, Map.of());
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                Set<String> want = new HashSet<>();
                for (var e : expected.entrySet()) {
                    want.add(e.getKey() + ".lora_down.weight");
                    want.add(e.getKey() + ".lora_up.weight");
                    want.add(e.getKey() + ".alpha");
                    assertArrayEquals(e.getValue()[0], f.info(e.getKey() + ".lora_down.weight").shape(), e.getKey() + " down");
                    assertArrayEquals(e.getValue()[1], f.info(e.getKey() + ".lora_up.weight").shape(), e.getKey() + " up");
                    assertEquals(0, f.info(e.getKey() + ".alpha").shape().length, "alpha is 0-dim");
                    assertEquals(DType.F32, f.info(e.getKey() + ".lora_down.weight").dtype(), "save_precision fp32");
                }
                assertEquals(want, new HashSet<>(f.names()));
                // builtin:tiny-sd: 7 transformer blocks (down 0 and 1, mid, up 1 and 2 x 2) x 12 modules each
                assertEquals(84, expected.keySet().stream().filter(k -> k.contains("_attentions_")).count());
            }
        }
    }

    @Test void metadataIsWhatWebUiAndComfyRead() throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 3), dir.resolve("out"));
        cfg.put("output_name", "my_style");
        cfg.put("conv_rank", 2);
        cfg.put("conv_alpha", 1);
        cfg.put("noise_offset", 0.05);
        cfg.put("batch_size", 2);
        cfg.put("network_dropout", 0.1);
        cfg.put("rank_dropout", 0.25);
        cfg.put("lora_dropout", 0.05);
        cfg.put("ip_noise_gamma", 0.1);
        cfg.put("debiased_estimation_loss", true);
        Path file = dir.resolve("my_style.safetensors");
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            task.exportAdapter(file, Map.of("training_step", "3", "training_total_steps", "4"));
            var adapters = ((org.lorascripts.lora.LoraNetwork) task.unetNetwork()).adapters().values();
            assertTrue(!adapters.isEmpty());
            for (var a : adapters) assertEquals(java.util.List.of(0.1, 0.25, 0.0), java.util.Arrays.stream(a.kohyaDropouts()).boxed().toList());
        }
        Map<String, String> m;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            m = f.metadata();
        }
        assertEquals("networks.lora", m.get("ss_network_module"));
        assertEquals("4", m.get("ss_network_dim"));
        assertEquals("4.0", m.get("ss_network_alpha"));
        assertEquals("{\"conv_dim\":\"2\",\"conv_alpha\":\"1.0\",\"rank_dropout\":\"0.25\"}", m.get("ss_network_args").replace(" ", ""));
        assertEquals("0.1", m.get("ss_network_dropout"), "kohya's network_dropout, not lora_dropout");
        assertEquals("0.1", m.get("ss_ip_noise_gamma"));
        assertEquals("True", m.get("ss_debiased_estimation"));
        assertEquals("None", m.get("ss_adaptive_noise_scale"), "kohya's None for an option not given");
        assertEquals("False", m.get("ss_ip_noise_gamma_random_strength"));
        assertEquals("sd_v1", m.get("ss_base_model_version"));
        assertEquals("False", m.get("ss_v2"));
        assertEquals("(32, 32)", m.get("ss_resolution"));
        assertEquals("3", m.get("ss_num_train_images"));
        assertEquals("{}", m.get("ss_reg_dataset_dirs"), "kohya writes it also without reg images");
        assertEquals("3", m.get("ss_steps"));
        assertEquals("2", m.get("ss_epoch"), "2 batches per epoch: step 3 is in epoch 2");
        assertEquals("4", m.get("ss_max_train_steps"));
        assertEquals("0.005", m.get("ss_learning_rate"));
        assertEquals("0.05", m.get("ss_noise_offset"));
        assertEquals("my_style", m.get("ss_output_name"));
        assertEquals(String.valueOf(SdTrainingFixture.SEED), m.get("ss_seed"));
        assertEquals("builtin:tiny-sd", m.get("ss_sd_model_name"));
        assertEquals("stable-diffusion-v1/lora", m.get("modelspec.architecture"));
        assertEquals("32x32", m.get("modelspec.resolution"));
        assertEquals("my_style", m.get("modelspec.title"));
        assertTrue(m.get("modelspec.date").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d"), m.get("modelspec.date"));
        assertTrue(Double.parseDouble(m.get("ss_training_started_at")) > 1.6e9);
        assertTrue(m.get("sshs_model_hash").matches("[0-9a-f]{64}"), m.get("sshs_model_hash"));
        var tags = Json.parse(m.get("ss_tag_frequency")).get("data");
        assertEquals(Json.node(3), tags.get("flat"), "every caption has the tag 'flat'");
        assertEquals(Json.node(1), tags.get("shape 2"));
        var buckets = Json.parse(m.get("ss_bucket_info")).get("buckets");
        assertEquals(Json.node(3), buckets.get("0").get("count"));
        for (String k : List.of("ss_unet_lr", "ss_text_encoder_lr", "ss_clip_skip", "ss_mixed_precision", "ss_min_snr_gamma",
                "ss_training_comment", "modelspec.sai_model_spec", "modelspec.implementation", "sshs_legacy_hash")) {
            assertTrue(m.containsKey(k), "missing " + k);
        }
    }

    @Test void loadingBackUnmergedAndMergedReproducesTheTrainedUnet() throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 2), dir.resolve("out"));
        cfg.put("conv_rank", 2);
        Path file = dir.resolve("trained.safetensors");
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        Tensor trained;
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            SdLoraTrainingTest.train(task, 3, 5e-3);
            task.exportAdapter(file, Map.of());
            Rng.manualSeed(42);
            inputs.put("x", Torch.randn(1, 4, 16, 16).keep());
            inputs.put("t", Torch.of(new long[] {500}, 1).keep());
            inputs.put("ctx", Torch.randn(1, 77, task.pipeline().unet().config().crossAttentionDim()).keep());
            trained = unetOut(task.pipeline(), inputs);
        }
        try (SdPipeline base = SdPipeline.open(new BaseModel.Builtin("tiny-sd"), null, Device.CPU, DType.F32)) {
            Tensor plain = unetOut(base, inputs);
            double change = diff(plain, trained);
            assertTrue(change > 1e-3, "training changed the UNet's output (by " + change + ")");
            Map<String, LoraNetwork> nets = KohyaLoraReader.load(file, Map.of("lora_unet", base.unet().loraHosts(),
                    "lora_te", base.textEncoder().loraHosts()), 1.0, Device.CPU);
            double unmerged = diff(unetOut(base, inputs), trained);
            nets.values().forEach(LoraNetwork::mergeIntoWeights);
            double merged = diff(unetOut(base, inputs), trained);
            System.out.printf("reloaded LoRA vs trained UNet: unmerged %.3g, merged %.3g (training moved it %.3g)%n", unmerged, merged, change);
            assertTrue(unmerged <= 1e-4, "unmerged differs by " + unmerged);
            assertTrue(merged <= 1e-4, "merged differs by " + merged);
            nets.values().forEach(LoraNetwork::close);
        } finally {
            trained.close();
            inputs.values().forEach(Tensor::close);
        }
    }

    private static Tensor unetOut(SdPipeline p, Map<String, Tensor> in) {
        try (Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            return p.unet().forward(in.get("x"), in.get("t"), in.get("ctx")).copy().keep();
        }
    }

    private static double diff(Tensor a, Tensor b) {
        try (Scope s = Scope.open()) {
            return a.sub(b).abs().amax().item();
        }
    }
}
