package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.cli.Main;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.SampleSampler;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import picocli.CommandLine;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.load.TextEncoderSlot;
import org.lorascripts.models.sd.load.TinySd2;
import org.lorascripts.models.sd.sampling.SdImageGenerator;
import org.lorascripts.models.sd.unet.UNetConfig;

/**
 * The SD 2.x path end to end on {@link TinySd2}: detection in both layouts (diffusers folder with an
 * HF text encoder, LDM single file with an OpenCLIP one), v-prediction training through SdLoraTask,
 * kohya export with SD 2 metadata, and {@code ./lora sample}.
 */
class Sd2EndToEndTest {
    @TempDir static Path shared;
    @TempDir Path dir;
    static Path ldm, diffusers, data;

    @BeforeAll static void writeModels() throws Exception {
        ldm = TinySd2.writeLdm(shared.resolve("tiny-sd2-v.safetensors"));
        diffusers = TinySd2.writeDiffusers(ldm, shared.resolve("tiny-sd2-diffusers"));
        data = SdTrainingFixture.images(shared.resolve("data"), 4);
    }

    static Map<String, Object> settings(Path base, Path out) {
        Map<String, Object> cfg = SdTrainingFixture.settings(data, out);
        cfg.put("base_model", base.toString());
        if (base.equals(ldm)) cfg.put("prediction_type", "v_prediction");   // not in a single file's weights
        return cfg;
    }

    @Test void detectsSd2AndVPredictionInBothLayouts() throws Exception {
        try (SdCheckpoint c = SdCheckpointLoader.open(diffusers)) {
            assertEquals(SdFamily.SD2, c.family(), "an OpenCLIP (gelu) text encoder makes it SD 2 at any width");
            assertEquals(SdCheckpoint.Layout.DIFFUSERS, c.layout());
            assertEquals(UNetConfig.Prediction.V_PREDICTION, c.prediction(), "from scheduler/scheduler_config.json");
            assertEquals(TinySd2.unetConfig(), c.unetConfig());
            assertNull(c.textEncoder().tokenizer(), "no tokenizer/ folder");
        }
        try (SdCheckpoint c = SdCheckpointLoader.open(ldm)) {
            assertEquals(SdFamily.SD2, c.family());
            assertEquals(TextEncoderSlot.Layout.OPEN_CLIP, c.textEncoder().layout());
            assertEquals(UNetConfig.Prediction.EPSILON, c.prediction(), "a single file does not say; epsilon unless configured");
        }
        try (SdCheckpoint c = SdCheckpointLoader.open(ldm, UNetConfig.Prediction.V_PREDICTION)) {
            assertEquals(TinySd2.unetConfig(), c.unetConfig(), "heads = channels / 64, linear projections, upcast: inferred from the shapes");
            assertEquals(TinySd2.vaeConfig(), c.vaeConfig());
        }
        try (SdLoraTask task = SdTrainingFixture.task(settings(ldm, dir.resolve("out")))) {
            assertTrue(task.pipeline().vPrediction(), "prediction_type: v_prediction in the config");
            assertEquals(SdFamily.SD2, task.pipeline().family());
        }
    }

    @Test void tokenizerPadsWithZeroForSd2InBothLayouts() throws Exception {
        for (Path base : List.of(ldm, diffusers)) {
            try (SdPipeline p = SdPipeline.open(new BaseModel.Local(base), null, Device.CPU, DType.F32)) {
                assertEquals(0, p.tokenizer().padId(), base.getFileName().toString());
                int[] ids = p.tokenizer().encodeForModel("a cat");
                assertEquals(77, ids.length);
                assertEquals(p.tokenizer().endOfTextId(), ids[3], "start, a, cat, end");
                assertEquals(0, ids[76]);
            }
        }
        try (SdPipeline p = SdPipeline.open(new BaseModel.Builtin("tiny-sd"), null, Device.CPU, DType.F32)) {
            assertEquals(p.tokenizer().endOfTextId(), p.tokenizer().encodeForModel("a cat")[76], "SD 1.x pads with the end token");
        }
    }

    @Test void bothLayoutsGiveTheSameFirstLossAndTrainingLowersIt() throws Exception {
        double[] first = new double[2];
        Path[] bases = {ldm, diffusers};
        for (int k = 0; k < 2; k++) {
            try (SdLoraTask task = SdTrainingFixture.task(settings(bases[k], dir.resolve("out" + k)))) {
                assertTrue(task.pipeline().vPrediction());
                first[k] = SdLoraTrainingTest.fixedNoiseLoss(task, 5);
                if (k == 1) {
                    double before = SdLoraTrainingTest.fixedNoiseLoss(task, 99);
                    SdLoraTrainingTest.train(task, 12, 5e-3);
                    double after = SdLoraTrainingTest.fixedNoiseLoss(task, 99);
                    System.out.printf("tiny-sd2 (v) overfit 4 images, 12 steps: loss %.4f -> %.4f%n", before, after);
                    assertTrue(after < 0.9 * before, "loss " + before + " -> " + after);
                }
            }
        }
        System.out.printf("tiny-sd2 first loss: LDM %.8f, diffusers %.8f%n", first[0], first[1]);
        assertTrue(first[0] > 0.1, "a real loss, not zero");
        assertEquals(first[0], first[1], 1e-6);
    }

    @Test void exportHasSd2MetadataAndTextEncoderKeysAndSamplesWithVPrediction() throws Exception {
        Map<String, Object> cfg = settings(ldm, dir.resolve("out"));
        cfg.put("train_text_encoder", true);
        cfg.put("output_name", "sd2_style");
        Path lora = dir.resolve("sd2_style.safetensors");
        int teHosts;
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            SdLoraTrainingTest.train(task, 1, 5e-3);
            task.exportAdapter(lora, Map.of("training_step", "1"));
            teHosts = task.pipeline().textEncoder().loraHosts().size();
        }
        try (SafetensorsFile f = SafetensorsFile.open(lora)) {
            Map<String, String> m = f.metadata();
            assertEquals("sd_v2_v", m.get("ss_base_model_version"));
            assertEquals("True", m.get("ss_v2"));
            assertEquals("stable-diffusion-v2-768-v/lora", m.get("modelspec.architecture"));
            assertEquals("v", m.get("modelspec.prediction_type"));
            assertEquals("tiny-sd2-v.safetensors", m.get("ss_sd_model_name"));
            long teKeys = f.names().stream().filter(n -> n.startsWith("lora_te_text_model_encoder_layers_")).count();
            assertEquals(3L * teHosts, teKeys);
            assertEquals(3L * 6 * TinySd2.TEXT_LAYERS, teKeys, "q, k, v, out, fc1, fc2 = 6 hosts a layer; the unused last OpenCLIP block gets none");
            assertTrue(f.contains("lora_te_text_model_encoder_layers_1_self_attn_v_proj.lora_up.weight"));
            // SD 2's transformer projections are linear: 2-D LoRA weights, as kohya writes them for SD 2
            assertArrayEquals(new long[] {4, 64}, f.info("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight").shape());
            assertArrayEquals(new long[] {128, 4}, f.info("lora_unet_mid_block_attentions_0_proj_out.lora_up.weight").shape());
        }

        String[] common = {"sample", "--base", ldm.toString(), "--prompt", "shape 1, color 1", "--num", "1", "--seed", "3", "--steps", "2",
                "--width", "32", "--lora", lora.toString()};
        for (String pred : List.of("v_prediction", "epsilon")) {
            StringWriter out = new StringWriter(), err = new StringWriter();
            CommandLine cmd = Main.newCommandLine();
            cmd.setOut(new PrintWriter(out, true));
            cmd.setErr(new PrintWriter(err, true));
            int code = cmd.execute(concat(common, "--prediction-type", pred, "--output", dir.resolve(pred).toString()));
            assertEquals(0, code, err.toString());
            assertTrue(out.toString().contains("00000-3.png (32x32, seed 3)"), out.toString());
        }
        byte[] v = Files.readAllBytes(dir.resolve("v_prediction/00000-3.png"));
        assertFalse(Arrays.equals(v, Files.readAllBytes(dir.resolve("epsilon/00000-3.png"))), "v-prediction samples another way");
        BufferedImage img = ImageIO.read(dir.resolve("v_prediction/00000-3.png").toFile());
        assertEquals(32, img.getWidth());
        int firstPixel = img.getRGB(0, 0);
        boolean varies = false;
        for (int y = 0; y < 32 && !varies; y++) for (int x = 0; x < 32 && !varies; x++) varies = img.getRGB(x, y) != firstPixel;
        assertTrue(varies, "not a flat (e.g. NaN-black) image");

        try (SdPipeline p = SdPipeline.open(new BaseModel.Local(ldm), UNetConfig.Prediction.V_PREDICTION, Device.CPU, DType.F32);
             Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            Tensor image = new SdImageGenerator(p, 75, 1).generate(new SdImageGenerator.Request("a cat", "", 32, 32, 2, 7.0, SampleSampler.EULER_A, 3));
            assertArrayEquals(new long[] {1, 3, 32, 32}, image.shape());
            assertEquals(image.numel(), (long) image.isfinite().to(DType.F32).sum().item(), "every decoded value is finite");
        }
    }

    @Test void versionStringsFollowKohyaForEveryFamilyAndPrediction() throws Exception {
        Map<String, Object> cfg = SdTrainingFixture.settings(data, dir.resolve("out"));
        cfg.put("prediction_type", "v_prediction");   // an SD 1.x v-parameterization fine-tune
        try (SdLoraTask task = SdTrainingFixture.task(cfg)) {
            Path file = dir.resolve("v1v.safetensors");
            task.exportAdapter(file, Map.of());
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                assertEquals("sd_v1_v", f.metadata().get("ss_base_model_version"));
                assertEquals("False", f.metadata().get("ss_v2"));
                assertEquals("stable-diffusion-v1/lora", f.metadata().get("modelspec.architecture"), "sai_model_spec has no v1-v architecture");
            }
        }
        StringWriter err = new StringWriter();
        CommandLine cmd = Main.newCommandLine();
        cmd.setOut(new PrintWriter(new StringWriter(), true));
        cmd.setErr(new PrintWriter(err, true));
        assertEquals(2, cmd.execute("sample", "--base", ldm.toString(), "--prompt", "x", "--prediction-type", "v"));
        assertEquals("error: --prediction-type v is not known; use auto, epsilon or v_prediction", err.toString().strip());
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
