package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.train.TrainingException;
import org.lorascripts.train.optim.AdamW;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.load.TinySd;

/** SdLoraTask on the builtin tiny model: the loss falls, layouts agree, continuation and the latent cache work. */
class SdLoraTrainingTest {
    @TempDir Path dir;

    /** Loss over all train examples with noise and timesteps from {@code seed}: the same draws before and after training. */
    static double fixedNoiseLoss(SdLoraTask task, long seed) {
        Rng.manualSeed(seed);
        try (Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            int n = task.trainSize();
            return task.lossSum(SdTrainingFixture.indices(n), false).item() / n;
        }
    }

    /** {@code steps} AdamW steps over the whole train split as one batch. */
    static void train(SdLoraTask task, int steps, double lr) {
        List<NamedParam> params = task.trainableParameters();
        try (AdamW opt = new AdamW(params, 0.9, 0.999, 1e-8, 0)) {
            for (int s = 0; s < steps; s++) {
                opt.zeroGrad();
                try (Scope sc = Scope.open()) {
                    int n = task.trainSize();
                    task.lossSum(SdTrainingFixture.indices(n), false).div(n).backward();
                }
                opt.step(lr);
            }
        }
    }

    @Test void lossFallsWhenOverfittingFourImages() throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 4), dir.resolve("out"));
        cfg.put("conv_rank", 8);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            assertEquals(4, task.trainSize());
            double before = fixedNoiseLoss(task, 99);
            assertEquals(before, fixedNoiseLoss(task, 99), 0.0, "the same seed gives the same noise and timesteps");
            train(task, 25, 5e-3);
            double after = fixedNoiseLoss(task, 99);
            System.out.printf("tiny-sd overfit 4 images, 25 steps: loss %.4f -> %.4f%n", before, after);
            assertTrue(after < 0.85 * before, "loss " + before + " -> " + after);
        }
    }

    /** mixed_precision: bf16 on the CPU (CPU autocast over the float32 model) runs a step and trains every adapter. */
    @Test void bf16AutocastOnTheCpuTakesAStep() throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 2), dir.resolve("out"));
        cfg.put("mixed_precision", "bf16");
        try (SdLoraTask task = SdTrainingFixture.task(cfg); Scope sc = Scope.open()) {
            org.lorascripts.train.Precision p = org.lorascripts.train.Precision.of(org.lorascripts.config.MixedPrecision.BF16,
                    org.lorascripts.tensor.Device.CPU);
            org.lorascripts.tensor.Tensor loss;
            try (org.lorascripts.tensor.Autocast ac = p.autocast()) {
                loss = task.lossSum(SdTrainingFixture.indices(task.trainSize()), false);
            }
            loss.backward();
            assertTrue(Double.isFinite(loss.item()), "loss " + loss.item());
            for (NamedParam q : task.trainableParameters()) assertTrue(q.tensor().grad() != null, q.name() + " got a gradient");
        }
    }

    @Test void ldmAndDiffusersLayoutsGiveTheSameFirstLoss() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 4);
        Path diffusers = dir.resolve("tiny-diffusers");
        try (SdCheckpoint c = SdCheckpointLoader.openBuiltin(SdCheckpointLoader.BUILTIN_TINY)) {
            TinySd.writeDiffusersFolder(c, diffusers);
        }
        double[] losses = new double[2];
        String[] bases = {"builtin:tiny-sd", diffusers.toString()};
        for (int k = 0; k < 2; k++) {
            Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve("out" + k));
            cfg.put("base_model", bases[k]);
            try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
                assertEquals(k == 0 ? SdCheckpoint.Layout.LDM_SINGLE_FILE : SdCheckpoint.Layout.DIFFUSERS, task.pipeline().checkpoint().layout());
                losses[k] = fixedNoiseLoss(task, 5);
            }
        }
        System.out.printf("first loss: LDM %.8f, diffusers %.8f%n", losses[0], losses[1]);
        assertTrue(losses[0] > 0.1, "a real loss, not zero");
        assertEquals(losses[0], losses[1], 1e-6);
    }

    @Test void trainTextEncoderAddsTextEncoderAdaptersThatGetGradients() throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 2), dir.resolve("out"));
        cfg.put("train_text_encoder", true);
        cfg.put("text_encoder_lr", 1e-3);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            List<NamedParam> te = task.trainableParameters().stream().filter(p -> p.name().startsWith("te.")).toList();
            assertEquals(2 * task.pipeline().textEncoder().loraHosts().size(), te.size());
            assertEquals(1e-3 / 5e-3, te.getFirst().lrScale(), 1e-12);
            train(task, 1, 5e-3);   // after one step the up weights are non-zero, so the down weights get gradients too
            try (Scope s = Scope.open()) {
                task.lossSum(new int[] {0, 1}, false).backward();
                Tensor g = te.getFirst().tensor().grad();
                assertTrue(g != null && g.abs().sum().item() > 0, "text-encoder LoRA gets a gradient");
            }
            Path file = dir.resolve("te.safetensors");
            task.exportAdapter(file, Map.of());
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                long teKeys = f.names().stream().filter(n -> n.startsWith("lora_te_text_model_encoder_layers_")).count();
                assertEquals(3L * task.pipeline().textEncoder().loraHosts().size(), teKeys);
                assertTrue(f.contains("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight"));
                assertTrue(f.contains("lora_te_text_model_encoder_layers_1_mlp_fc2.alpha"));
            }
        }
    }

    @Test void twoTextEncoderRatesOnSd1TrainTheOneEncoderAtTheFirstWithAWarning() throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 2), dir.resolve("out"));
        cfg.put("train_text_encoder", true);
        cfg.put("text_encoder_lr", List.of(1e-3, 2.5e-4));
        List<String> log = new java.util.ArrayList<>();
        Rng.manualSeed(SdTrainingFixture.SEED);
        try (SdLoraTask task = new SdLoraTask(TrainConfig.of(cfg), log::add)) {
            List<NamedParam> te = task.trainableParameters().stream().filter(p -> p.name().startsWith("te")).toList();
            assertFalse(te.isEmpty());
            for (NamedParam p : te) assertEquals(1e-3 / 5e-3, p.lrScale(), 1e-12, p.name());
            assertTrue(log.stream().anyMatch(l -> l.startsWith("warning: text_encoder_lr has 2 values but Stable Diffusion 1.x has one"
                    + " text encoder; it trains at the first, 0.001")), log.toString());
            TrainConfig.Buckets b = task.config().image().buckets();
            assertEquals(List.of(256, 1024), List.of(b.minReso(), b.maxReso()), "SD 1.x keeps the config's buckets");
        }
    }

    @Test void networkWeightsContinuesFromTheExportedAdapter() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 4);
        Path adapter = dir.resolve("first.safetensors");
        double trainedLoss;
        try (SdLoraTask task = SdTrainingFixture.task(SdTrainingFixture.settings(data, dir.resolve("out1")))) {
            train(task, 3, 5e-3);
            trainedLoss = fixedNoiseLoss(task, 11);
            task.exportAdapter(adapter, Map.of("training_step", "3"));
        }
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve("out2"));
        cfg.put("network_weights", adapter.toString());
        cfg.put("seed", 777);   // another initialisation: only the file can make the losses equal
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            double continued = fixedNoiseLoss(task, 11);
            assertEquals(trainedLoss, continued, 1e-6);
        }
        cfg.remove("network_weights");
        try (SdLoraTask fresh = SdTrainingFixture.task(cfg)) {
            assertNotEquals(trainedLoss, fixedNoiseLoss(fresh, 11), 1e-6, "without the file the loss differs");
        }
        cfg.put("network_weights", adapter.toString());
        cfg.put("lora_rank", 8);
        TrainingException e = assertThrows(TrainingException.class, () -> SdTrainingFixture.task(cfg).close());
        assertTrue(e.getMessage().contains("has rank 4 and alpha 4.0, but this config trains rank 8") && e.getMessage().contains("lora_rank: 4"),
                e.getMessage());
    }

    @Test void latentCacheOnDiskIsReusedAndInvalidatedWhenAnImageChanges() throws Exception {
        Path data = SdTrainingFixture.images(dir.resolve("data"), 4);
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve("out"));
        cfg.put("cache_latents_to_disk", true);
        double first;
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            assertEquals(4, task.latentsEncoded());
            first = fixedNoiseLoss(task, 3);
        }
        try (var files = Files.list(data.resolve(".lora-cache"))) {
            assertEquals(4, files.filter(p -> p.toString().endsWith(".safetensors")).count());
        }
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            assertEquals(0, task.latentsEncoded(), "every latent comes from disk");
            assertEquals(first, fixedNoiseLoss(task, 3), 1e-6, "cached latents are the encoded ones");
            assertEquals(0, task.pipeline().vaeLoads(), "the VAE is not even loaded");
            assertEquals(List.of(), task.pipeline().residentAtUnetLoad(), "the encoders were freed before the UNet loaded");
        }
        Path img = data.resolve("img2.png");
        FileTime before = Files.getLastModifiedTime(img);
        SdTrainingFixture.writeImage(img, 7);
        Files.setLastModifiedTime(img, FileTime.fromMillis(before.toMillis() + 5000));
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            assertEquals(1, task.latentsEncoded(), "only the changed image is encoded again");
            assertNotEquals(first, fixedNoiseLoss(task, 3), 1e-9);
        }
    }

    @Test void cachingRefusesRandomCrop() throws Exception {
        Map<String, Object> cfg = new HashMap<>(SdTrainingFixture.settings(SdTrainingFixture.images(dir.resolve("data"), 2), dir.resolve("out")));
        cfg.put("random_crop", true);
        Exception e = assertThrows(RuntimeException.class, () -> SdTrainingFixture.task(cfg).close());
        assertTrue(e.getMessage().contains("random_crop: true needs cache_latents: false"), e.getMessage());
        cfg.put("cache_latents", false);
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            double inPlace = fixedNoiseLoss(task, 1);
            assertTrue(inPlace > 0, "uncached training encodes per batch");
            assertTrue(task.pipeline().vaeLoads() == 1);
            // the loop's hint for the next step: its images are read in the background, and the loss is the same
            task.setEpoch(0);
            task.prefetch(List.of(SdTrainingFixture.indices(task.trainSize())), 0);
            assertEquals(inPlace, fixedNoiseLoss(task, 1), 0.0);
            assertEquals(task.trainSize(), task.trainingData().prefetchHits(), "every image came from the prefetch");
        }
    }
}
