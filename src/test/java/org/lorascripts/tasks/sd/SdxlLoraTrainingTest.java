package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.data.ImageCaptionDataset;
import org.lorascripts.data.ImageDatasetOptions;
import org.lorascripts.io.PngWriter;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.load.TinySdxl;

/** SdLoraTask on the tiny complete SDXL checkpoint (CPU): UNet LoRA training, kohya SDXL export, continuation. */
class SdxlLoraTrainingTest {
    @TempDir static Path shared;
    static Path model;
    @TempDir Path dir;

    @BeforeAll static void writeModel() throws Exception {
        model = TinySdxl.writeCompleteLdm(shared.resolve("tiny-sdxl.safetensors"), DType.F32);
    }

    private Map<String, Object> settings(Path data, String out) {
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve(out));
        cfg.put("base_model", model.toString());
        return cfg;
    }

    @Test void lossFallsAndTheExportIsAKohyaSdxlUnetLora() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 4);
        List<String> log = new ArrayList<>();
        Path adapter = dir.resolve("xl.safetensors");
        Rng.manualSeed(SdTrainingFixture.SEED);
        Map<String, Object> cfg = settings(data, "out");
        cfg.put("conv_rank", 8);   // the tiny random UNet is far from any image: a LoCon moves its loss visibly in few steps
        try (SdLoraTask task = new SdLoraTask(TrainConfig.of(cfg), log::add)) {
            assertEquals(SdFamily.SDXL, task.pipeline().family());
            assertTrue(log.stream().anyMatch(l -> l.startsWith("note: SDXL was trained around 1024x1024")), log.toString());
            double before = SdLoraTrainingTest.fixedNoiseLoss(task, 99);
            SdLoraTrainingTest.train(task, 25, 2e-2);
            double after = SdLoraTrainingTest.fixedNoiseLoss(task, 99);
            System.out.printf("tiny-sdxl overfit 4 images, 25 steps: loss %.4f -> %.4f%n", before, after);
            assertTrue(after < 0.85 * before, "loss " + before + " -> " + after);
            task.exportAdapter(adapter, Map.of("training_step", "25"));
        }
        try (SafetensorsFile f = SafetensorsFile.open(adapter)) {
            assertFalse(f.names().isEmpty());
            for (String k : f.names()) assertTrue(k.startsWith("lora_unet_"), k);
            assertTrue(f.names().stream().anyMatch(k -> k.contains("input_blocks_")), "LDM numbering: " + f.names());
            assertTrue(f.names().stream().anyMatch(k -> k.contains("middle_block_")), "LDM numbering: " + f.names());
            assertFalse(f.names().stream().anyMatch(k -> k.contains("down_blocks_")), "no diffusers names: " + f.names());
            assertEquals("sdxl_base_v1-0", f.metadata().get("ss_base_model_version"));
        }
    }

    @Test void networkWeightsContinuesFromTheExportedSdxlAdapter() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 4);
        Path adapter = dir.resolve("first.safetensors");
        double trainedLoss;
        try (SdLoraTask task = SdTrainingFixture.task(settings(data, "out1"))) {
            SdLoraTrainingTest.train(task, 3, 5e-3);
            trainedLoss = SdLoraTrainingTest.fixedNoiseLoss(task, 11);
            task.exportAdapter(adapter, Map.of("training_step", "3"));
        }
        Map<String, Object> cfg = settings(data, "out2");
        cfg.put("network_weights", adapter.toString());
        cfg.put("seed", 777);   // another initialisation: only the file can make the losses equal
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            assertEquals(trainedLoss, SdLoraTrainingTest.fixedNoiseLoss(task, 11), 1e-6);
        }
        cfg.remove("network_weights");
        try (SdLoraTask fresh = SdTrainingFixture.task(cfg)) {
            assertNotEquals(trainedLoss, SdLoraTrainingTest.fixedNoiseLoss(fresh, 11), 1e-6, "without the file the loss differs");
        }
    }

    @Test void examplesOfOneBucketGetTheirOwnTimeIds() throws Exception {
        Path data = Files.createDirectories(dir.resolve("sizes"));
        SdTrainingFixture.writeImage(data.resolve("square.png"), 0);
        byte[] px = new byte[32 * 48 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 7);
        PngWriter.write(data.resolve("tall.png"), px, 32, 48, PngWriter.Channels.RGB);
        Files.writeString(data.resolve("square.txt"), "square");
        Files.writeString(data.resolve("tall.txt"), "tall");
        ImageCaptionDataset ds = ImageCaptionDataset.open(ImageDatasetOptions.of(TrainConfig.of(settings(data, "o"))), w -> {});
        int square = ds.example(0).name().startsWith("square") ? 0 : 1;
        try (Scope s = Scope.open()) {
            Tensor ids = SdxlConditioning.timeIds(ds, new int[] {square, 1 - square}, 0);
            float[] v = ids.to(DType.F32).toFloatArray();
            // square 32x32: no resize, no crop; tall 32x48: resized as is, centre-cropped 8 rows from the top
            assertEquals(List.of(32f, 32f, 0f, 0f, 32f, 32f, 48f, 32f, 8f, 0f, 32f, 32f), boxed(v));
        }
    }

    @Test void sdAndSdxlLatentCachesOnDiskNeverMix() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 4);
        Map<String, Object> xl = settings(data, "xl");
        xl.put("cache_latents_to_disk", true);
        double first;
        try (SdLoraTask task = SdTrainingFixture.task(xl)) {
            assertEquals(4, task.latentsEncoded());
            first = SdLoraTrainingTest.fixedNoiseLoss(task, 3);
        }
        try (SdLoraTask task = SdTrainingFixture.task(xl)) {
            assertEquals(0, task.latentsEncoded(), "SDXL reuses its own latents");
            assertEquals(first, SdLoraTrainingTest.fixedNoiseLoss(task, 3), 1e-6);
        }
        Map<String, Object> sd = SdTrainingFixture.settings(data, dir.resolve("sd"));
        sd.put("cache_latents_to_disk", true);
        try (SdLoraTask task = SdTrainingFixture.task(sd)) {
            assertEquals(4, task.latentsEncoded(), "SD 1.x does not take SDXL's latents");
        }
        try (SdLoraTask task = SdTrainingFixture.task(xl)) {
            assertEquals(4, task.latentsEncoded(), "nor SDXL SD's");
        }
    }

    @Test void uncachedFlippedBatchesTrainAndSampleWithTheLora() throws Exception {
        Map<String, Object> cfg = settings(SdTrainingFixture.images(dir.resolve("data"), 2), "out");
        cfg.put("cache_latents", false);
        cfg.put("flip_aug", true);
        cfg.put("caption_dropout_rate", 0.5);
        cfg.put("sample_prompts", List.of("shape 1 --w 32 --h 32 --s 2"));
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            SdLoraTrainingTest.train(task, 2, 5e-3);
            assertTrue(Double.isFinite(SdLoraTrainingTest.fixedNoiseLoss(task, 4)));
            List<String> tags = new ArrayList<>();
            task.sample(2, new org.lorascripts.train.SampleSink() {
                @Override public void image(String tag, byte[] png, int width, int height) {
                    tags.add(tag + " " + width + "x" + height);
                }

                @Override public void text(String tag, String text) {}
            });
            assertEquals(List.of("sample/0 64x32"), tags, "base model and LoRA side by side (sample_with_base)");
        }
    }

    /**
     * Frozen encoders and fixed captions: every caption's states and the sample prompts are encoded at the start
     * and the encoders freed (kohya's cache_text_encoder_outputs); samples still draw, from the cached prompts,
     * the same picture as with the encoders in place. Caption dropout keeps them.
     */
    @Test void frozenTextEncodersAreFreedOnceTheirOutputsAreCachedAndSamplesStillDraw() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 2);
        Map<String, Object> cfg = settings(data, "out");
        cfg.put("sample_prompts", List.of("shape 1 --w 32 --h 32 --s 2 --n blurry"));
        List<String> log = new ArrayList<>();
        List<byte[]> pngs = new ArrayList<>();
        org.lorascripts.train.SampleSink sink = new org.lorascripts.train.SampleSink() {
            @Override public void image(String tag, byte[] png, int width, int height) { pngs.add(png); }

            @Override public void text(String tag, String text) {}
        };
        try (SdLoraTask task = new SdLoraTask(TrainConfig.of(cfg), log::add)) {
            assertTrue(task.pipeline().textEncodersDropped());
            assertTrue(log.contains("text encoders: outputs cached for 2 captions and the sample prompts; the encoders are freed"), log.toString());
            // the UNet loads after the caching: only the VAE (kept to decode the samples) is on the device beside it
            assertEquals(List.of("vae"), task.pipeline().residentAtUnetLoad());
            task.sample(0, sink);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> task.pipeline().encodeConditioning("a caption nobody cached", 75, 1));
            assertTrue(e.getMessage().contains("was not among the cached texts"), e.getMessage());
        }
        cfg.put("caption_dropout_rate", 0.1);
        try (SdLoraTask task = new SdLoraTask(TrainConfig.of(cfg), log::add)) {
            assertFalse(task.pipeline().textEncodersDropped(), "captions that change keep the encoders");
            assertEquals(List.of("vae", "text encoders"), task.pipeline().residentAtUnetLoad());
            task.sample(0, sink);
        }
        assertArrayEquals(pngs.get(0), pngs.get(1), "the cached prompts draw what the encoders draw");
    }

    /**
     * cache_text_encoder_outputs_to_disk: the first run encodes every caption and writes one file each in
     * .lora-cache/, the next reads them (the same loss on the same noise); a damaged file is encoded again.
     */
    @Test void textEncoderOutputsCachedOnDiskAreReusedAndADamagedOneIsReplaced() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 3);
        Map<String, Object> cfg = settings(data, "out");
        cfg.put("cache_text_encoder_outputs_to_disk", true);
        double[] losses = new double[3];
        List<String> log = new ArrayList<>();
        for (int run = 0; run < 3; run++) {
            if (run == 2) {
                try (var files = Files.list(data.resolve(".lora-cache"))) {
                    Path one = files.filter(f -> f.getFileName().toString().startsWith("te-")).sorted().findFirst().orElseThrow();
                    Files.write(one, new byte[] {1, 2, 3});
                }
            }
            log.clear();
            try (SdLoraTask task = new SdLoraTask(TrainConfig.of(cfg), log::add)) {
                losses[run] = SdLoraTrainingTest.fixedNoiseLoss(task, 7);
            }
            String expected = switch (run) {
                case 0 -> "cached text-encoder outputs of 3 captions (3 encoded, 0 from disk)";
                case 1 -> "cached text-encoder outputs of 3 captions (0 encoded, 3 from disk)";
                default -> "cached text-encoder outputs of 3 captions (1 encoded, 2 from disk)";
            };
            assertTrue(log.contains(expected), "run " + run + ": " + log);
        }
        try (var files = Files.list(data.resolve(".lora-cache"))) {
            assertEquals(3, files.filter(f -> f.getFileName().toString().startsWith("te-")).count());
        }
        assertEquals(losses[0], losses[1], 0.0, "states read from disk are the encoded ones");
        assertEquals(losses[0], losses[2], 0.0);
    }

    @Test void trainTextEncoderTrainsBothEncodersExportsTe1AndTe2AndContinues() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 2);
        Map<String, Object> cfg = settings(data, "out");
        cfg.put("train_text_encoder", true);
        cfg.put("text_encoder_lr", 1e-3);
        Path file = dir.resolve("te.safetensors");
        double trainedLoss;
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            List<NamedParam> te1 = task.trainableParameters().stream().filter(p -> p.name().startsWith("te.")).toList();
            List<NamedParam> te2 = task.trainableParameters().stream().filter(p -> p.name().startsWith("te2.")).toList();
            assertEquals(2 * task.pipeline().textEncoder().loraHosts().size(), te1.size());
            assertEquals(2 * task.pipeline().textEncoder2().loraHosts().size(), te2.size());
            assertEquals(1e-3 / 5e-3, te2.getFirst().lrScale(), 1e-12);
            SdLoraTrainingTest.train(task, 1, 5e-3);   // up weights leave zero, so the down weights get gradients too
            try (Scope s = Scope.open()) {
                task.lossSum(new int[] {0, 1}, false).backward();
                for (NamedParam p : List.of(te1.getFirst(), te2.getFirst())) {
                    Tensor g = p.tensor().grad();
                    assertTrue(g != null && g.abs().sum().item() > 0, p.name() + " gets a gradient");
                }
            }
            trainedLoss = SdLoraTrainingTest.fixedNoiseLoss(task, 11);
            task.exportAdapter(file, Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertTrue(f.contains("lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"), f.names().toString());
            assertTrue(f.contains("lora_te2_text_model_encoder_layers_0_mlp_fc2.alpha"), f.names().toString());
            assertTrue(f.names().stream().noneMatch(n -> n.startsWith("lora_te_")), "SDXL has no single lora_te_");
        }
        cfg.put("network_weights", file.toString());
        cfg.put("seed", 777);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            assertEquals(trainedLoss, SdLoraTrainingTest.fixedNoiseLoss(task, 11), 1e-6, "both encoders' adapters come back from the file");
        }
    }

    @Test void textEncoderLrListGivesTe1AndTe2TheirOwnRates() throws Exception {
        Map<String, Object> cfg = settings(SdTrainingFixture.images(dir.resolve("data"), 2), "out");
        cfg.put("train_text_encoder", true);
        cfg.put("text_encoder_lr", List.of(1e-3, 2.5e-4));   // kohya's --text_encoder_lr 1e-3 2.5e-4
        Path file = dir.resolve("te.safetensors");
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            List<NamedParam> te1 = task.trainableParameters().stream().filter(p -> p.name().startsWith("te.")).toList();
            List<NamedParam> te2 = task.trainableParameters().stream().filter(p -> p.name().startsWith("te2.")).toList();
            List<NamedParam> unet = task.trainableParameters().stream().filter(p -> p.name().startsWith("unet.")).toList();
            assertFalse(te1.isEmpty() || te2.isEmpty() || unet.isEmpty());
            for (NamedParam p : te1) assertEquals(1e-3 / 5e-3, p.lrScale(), 1e-12, p.name());
            for (NamedParam p : te2) assertEquals(2.5e-4 / 5e-3, p.lrScale(), 1e-12, p.name());
            for (NamedParam p : unet) assertEquals(1.0, p.lrScale(), 1e-12, p.name());
            task.exportAdapter(file, Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals("[0.001, 0.00025]", f.metadata().get("ss_text_encoder_lr"), "Python's str() of the list, as kohya writes it");
        }
    }

    @Test void sdxlBucketsDefaultToHalfAndTwiceTheResolution() throws Exception {
        Map<String, Object> cfg = settings(SdTrainingFixture.images(dir.resolve("data"), 2), "out");
        cfg.put("resolution", 64);
        cfg.put("enable_bucket", true);
        List<String> log = new ArrayList<>();
        Rng.manualSeed(SdTrainingFixture.SEED);
        Path file = dir.resolve("b.safetensors");
        try (SdLoraTask task = new SdLoraTask(TrainConfig.of(cfg), log::add)) {
            TrainConfig.Buckets b = task.config().image().buckets();
            assertEquals(List.of(32, 128), List.of(b.minReso(), b.maxReso()));
            assertTrue(log.contains("note: buckets 32-128 (SDXL default: resolution/2 to resolution*2)"), log.toString());
            task.exportAdapter(file, Map.of());
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals("32", f.metadata().get("ss_min_bucket_reso"));
            assertEquals("128", f.metadata().get("ss_max_bucket_reso"));
        }
        cfg.put("min_bucket_reso", 64);
        cfg.put("max_bucket_reso", 256);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            TrainConfig.Buckets b = task.config().image().buckets();
            assertEquals(List.of(64, 256), List.of(b.minReso(), b.maxReso()), "bounds the user set are kept");
        }
    }

    private static List<Float> boxed(float[] v) {
        List<Float> r = new ArrayList<>();
        for (float f : v) r.add(f);
        return r;
    }
}
