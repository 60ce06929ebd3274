package org.lorascripts.models.sd.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.MissingWeightException;
import org.lorascripts.nn.WeightShapeException;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.VaeConfig;

class SdCheckpointLoaderTest {
    @TempDir static Path dir;
    static Path tiny;

    @BeforeAll
    static void writeTiny() throws Exception {
        tiny = dir.resolve("tiny.safetensors");
        TinySd.write(tiny);
    }

    /** A file of zero tensors with these names and shapes. */
    private static Path fake(String name, Map<String, long[]> tensors) throws Exception {
        SafetensorsWriter w = new SafetensorsWriter();
        for (var e : tensors.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) n *= d;
            w.add(e.getKey(), DType.F32, e.getValue(), new byte[(int) n * 4]);
        }
        Path p = dir.resolve(name);
        w.write(p);
        return p;
    }

    /** The tiny file with one tensor removed or replaced. */
    private static Path edited(String name, String drop, String replace, long[] newShape) throws Exception {
        Path p = dir.resolve(name);
        try (SafetensorsFile sf = SafetensorsFile.open(tiny); Scope s = Scope.open()) {
            Map<String, Tensor> all = new LinkedHashMap<>();
            for (String n : sf.names()) {
                if (n.equals(drop)) continue;
                all.put(n, n.equals(replace) ? Torch.zeros(newShape, DType.F32, Device.CPU) : TensorIO.read(sf, n));
            }
            TensorIO.save(p, all, sf.metadata());
        }
        return p;
    }

    @Test
    void refusesPickles() {
        for (String f : List.of("v1-5-pruned.ckpt", "model.pt", "weights.bin")) {
            String ext = f.substring(f.lastIndexOf('.'));
            var e = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(dir.resolve(f)));
            assertEquals(f + ": " + ext + " files are Python pickles, which can run arbitrary code when loaded; lora-scripts reads only .safetensors. "
                    + "Convert it to .safetensors once, where you trust the file: with diffusers' scripts/convert_original_stable_diffusion_to_diffusers.py --checkpoint_path " + f
                    + " --to_safetensors --dump_path OUT_DIR (gives a diffusers folder), or in AUTOMATIC1111's Checkpoint Merger with checkpoint format \"safetensors\"",
                    e.getMessage());
        }
    }

    @Test
    void refusesPickleWeightsInADiffusersFolder() throws Exception {
        Path te = Files.createDirectories(dir.resolve("te"));
        Files.write(te.resolve("pytorch_model.bin"), new byte[] {1});
        var e = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.openWeights(te, "model", "sd/text_encoder"));
        assertTrue(e.getMessage().startsWith("sd/text_encoder/pytorch_model.bin: .bin files are Python pickles"), e.getMessage());
        assertTrue(e.getMessage().contains("safe_serialization=True"), e.getMessage());
    }

    @Test
    void incompleteSdxlIsNamedWithWhatIsMissing() throws Exception {
        Path p = fake("v1-5.safetensors", Map.of(
                "conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", new long[] {4},
                "conditioner.embedders.1.model.ln_final.weight", new long[] {4},
                "model.diffusion_model.input_blocks.0.0.weight", new long[] {4, 4, 3, 3}));
        var e = assertThrows(UnsupportedOperationException.class, () -> SdCheckpointLoader.open(p));
        assertEquals("v1-5.safetensors: looks like SDXL but has no model.diffusion_model.label_emb.* (the UNet), no first_stage_model.* (the VAE; or set vae);"
                + " give a complete SDXL base checkpoint (UNet, both text encoders, VAE)", e.getMessage());

        Path unetOnly = fake("xl-unet.safetensors", Map.of("model.diffusion_model.label_emb.0.0.weight", new long[] {4, 4},
                "model.diffusion_model.input_blocks.0.0.weight", new long[] {4, 4, 3, 3}));
        e = assertThrows(UnsupportedOperationException.class, () -> SdCheckpointLoader.open(unetOnly));
        assertEquals("xl-unet.safetensors: looks like SDXL but has no conditioner.embedders.0.transformer.* (text encoder 1), no conditioner.embedders.1.model.*"
                + " (text encoder 2), no first_stage_model.* (the VAE; or set vae); give a complete SDXL base checkpoint (UNet, both text encoders, VAE)", e.getMessage());

        Path folder = dir.resolve("sdxl-folder");
        Files.createDirectories(folder.resolve("text_encoder_2"));
        var f = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(folder));
        assertTrue(f.getMessage().startsWith("sdxl-folder: unknown checkpoint layout: a folder without unet/config.json"), f.getMessage());

        Path added = dir.resolve("xl-config");
        Files.createDirectories(added.resolve("unet"));
        Files.createDirectories(added.resolve("vae"));
        Files.writeString(added.resolve("unet/config.json"), "{\"addition_embed_type\": \"text_time\", \"addition_time_embed_dim\": 256,"
                + " \"projection_class_embeddings_input_dim\": 2816, \"cross_attention_dim\": 2048}");
        Files.writeString(added.resolve("vae/config.json"), "{}");
        f = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(added));
        assertEquals("xl-config: text_encoder/config.json or text_encoder_2/config.json is missing; SDXL needs both text encoders", f.getMessage());
    }

    @Test
    void unknownLayouts() throws Exception {
        Path p = fake("lora.safetensors", Map.of("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", new long[] {4, 32},
                "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight", new long[] {32, 4}));
        var e = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(p));
        assertEquals("lora.safetensors: unknown checkpoint layout: no model.diffusion_model.input_blocks.* tensors (2 tensors, e.g. "
                + "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight, lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight); "
                + "expected a Stable Diffusion 1.x/2.x single-file checkpoint or a diffusers folder", e.getMessage());

        Path empty = dir.resolve("empty-folder");
        Files.createDirectories(empty);
        e = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(empty));
        assertEquals("empty-folder: unknown checkpoint layout: a folder without unet/config.json; expected a diffusers Stable Diffusion folder "
                + "(model_index.json, unet/, vae/, text_encoder/, scheduler/)", e.getMessage());

        Path inpaint = fake("inpaint.safetensors", Map.of("model.diffusion_model.input_blocks.0.0.weight", new long[] {320, 9, 3, 3}));
        var u = assertThrows(UnsupportedOperationException.class, () -> SdCheckpointLoader.open(inpaint));
        assertEquals("inpaint.safetensors: the UNet takes 9 input channels (an inpainting model, model.diffusion_model.input_blocks.0.0.weight); only 4-channel"
                        + " text-to-image SD 1.x/2.x models are supported yet: train on the base model it was made from",
                u.getMessage());

        Files.writeString(dir.resolve("notes.txt"), "not a model");
        var n = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(dir.resolve("notes.txt")));
        assertTrue(n.getMessage().startsWith("notes.txt: not a .safetensors file or a diffusers folder"), n.getMessage());
    }

    @Test
    void missingTensor() throws Exception {
        Path p = edited("missing.safetensors", "model.diffusion_model.input_blocks.1.0.in_layers.2.weight", null, null);
        try (SdCheckpoint c = SdCheckpointLoader.open(p)) {
            var e = assertThrows(MissingWeightException.class, () -> c.loadUnet(Device.CPU, DType.F32));
            assertEquals("missing.safetensors (UNet): missing tensor down_blocks.0.resnets.0.conv1.weight [32, 32, 3, 3]; "
                    + "the checkpoint does not match the expected architecture", e.getMessage());
        }
    }

    @Test
    void wrongShape() throws Exception {
        Path p = edited("shape.safetensors", null, "first_stage_model.decoder.mid.attn_1.k.weight", new long[] {64, 32, 1, 1});
        try (SdCheckpoint c = SdCheckpointLoader.open(p)) {
            var e = assertThrows(WeightShapeException.class, () -> c.loadVae(Device.CPU, DType.F32));
            assertEquals("shape.safetensors (VAE): decoder.mid_block.attentions.0.to_k.weight has shape [64, 32], expected [64, 64] for this model configuration",
                    e.getMessage());
        }
    }

    @Test
    void infersSd1AndSd2FromShapes() throws Exception {
        // SD 1.x style: 768-wide context, 1x1-conv projections, CLIP text encoder, no embedded configs
        UNetConfig sd1 = new UNetConfig(4, 4, 64, List.of(32, 64), 1, List.of(8, 8), List.of(UNetConfig.CROSS_DOWN, UNetConfig.DOWN),
                List.of(UNetConfig.UP, UNetConfig.CROSS_UP), 768, 1, false, 32, 1e-5, false, UNetConfig.Prediction.EPSILON);
        VaeConfig vae = new VaeConfig(3, 3, 4, List.of(32, 64), 1, 32, 512, 0.18215);
        Path p1 = dir.resolve("sd1-like.safetensors");
        TinySd.writeLdm(p1, sd1, vae, Map.of("text_model.final_layer_norm.weight", new long[] {768}), LdmNames.CLIP_PREFIX, Map.of(), 9);
        try (SdCheckpoint c = SdCheckpointLoader.open(p1)) {
            assertEquals(SdFamily.SD1, c.family());
            assertEquals(sd1, c.unetConfig());
            assertEquals(vae, c.vaeConfig());
            assertEquals(TextEncoderSlot.Layout.HF_CLIP, c.textEncoder().layout());
        }
        // SD 2.x style: 1024-wide context, linear projections, OpenCLIP text encoder; heads = channels / 64
        UNetConfig sd2 = new UNetConfig(4, 4, 64, List.of(64, 128), 1, List.of(1, 2), List.of(UNetConfig.CROSS_DOWN, UNetConfig.CROSS_DOWN),
                List.of(UNetConfig.CROSS_UP, UNetConfig.CROSS_UP), 1024, 1, true, 32, 1e-5, false, UNetConfig.Prediction.EPSILON);
        Path p2 = dir.resolve("sd2-like.safetensors");
        TinySd.writeLdm(p2, sd2, vae, Map.of("token_embedding.weight", new long[] {10, 1024}), LdmNames.OPEN_CLIP_PREFIX, Map.of(), 10);
        try (SdCheckpoint c = SdCheckpointLoader.open(p2)) {
            assertEquals(SdFamily.SD2, c.family());
            assertEquals(sd2, c.unetConfig());
            assertEquals(UNetConfig.Prediction.EPSILON, c.prediction(), "SD 2-base default");
            assertEquals(TextEncoderSlot.Layout.OPEN_CLIP, c.textEncoder().layout());
            assertEquals("cond_stage_model.model.", c.textEncoder().prefix());
            var e = assertThrows(UnsupportedOperationException.class, () -> c.textEncoder().hfWeights());
            assertTrue(e.getMessage().contains("OpenCLIP layout"));
        }
        try (SdCheckpoint c = SdCheckpointLoader.open(p2, UNetConfig.Prediction.V_PREDICTION)) {
            assertEquals(UNetConfig.Prediction.V_PREDICTION, c.prediction());
            assertTrue(c.unetConfig().upcastAttention(), "SD 2.1 768-v upcasts attention");
            try (Scope s = Scope.open(); var unet = c.loadUnet(Device.CPU, DType.F32)) {
                Tensor y = unet.forward(Torch.randn(1, 4, 8, 8), Torch.of(new long[] {5}), Torch.randn(1, 77, 1024));
                assertArrayEquals(new long[] {1, 4, 8, 8}, y.shape());
            }
        }
    }

    @Test
    void predictionTypeFromTheSchedulerConfig() throws Exception {
        Path folder = dir.resolve("v-folder");
        try (SdCheckpoint c = SdCheckpointLoader.open(tiny)) {
            TinySd.writeDiffusersFolder(c, folder);
        }
        Files.writeString(folder.resolve("scheduler/scheduler_config.json"), "{\"prediction_type\": \"v_prediction\"}");
        try (SdCheckpoint c = SdCheckpointLoader.open(folder)) {
            assertEquals(UNetConfig.Prediction.V_PREDICTION, c.prediction());
            assertFalse(c.unetConfig().upcastAttention(), "diffusers configs say it themselves");
        }
        try (SdCheckpoint c = SdCheckpointLoader.open(folder, UNetConfig.Prediction.EPSILON)) {
            assertEquals(UNetConfig.Prediction.EPSILON, c.prediction());
        }
        Files.writeString(folder.resolve("scheduler/scheduler_config.json"), "{\"prediction_type\": \"sample\"}");
        var e = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(folder));
        assertEquals("v-folder/scheduler/scheduler_config.json: prediction_type 'sample' is not supported (use epsilon or v_prediction)", e.getMessage());
    }

    @Test
    void presets() {
        assertEquals(List.of(8, 8, 8, 8), UNetConfig.sd15().attentionHeadDim());
        assertEquals(768, UNetConfig.sd15().crossAttentionDim());
        assertFalse(UNetConfig.sd15().useLinearProjection());
        assertEquals(List.of(5, 10, 20, 20), UNetConfig.sd2().attentionHeadDim());
        assertTrue(UNetConfig.sd2().useLinearProjection());
        assertEquals(UNetConfig.Prediction.V_PREDICTION, UNetConfig.sd21v().prediction());
        assertTrue(UNetConfig.sd21v().upcastAttention());
        // names of a full-size SD 1.5 UNet map to the LDM names diffusers converts from
        UNetConfig c = UNetConfig.sd15();
        assertEquals("input_blocks.4.1.proj_in.weight", LdmNames.unet("down_blocks.1.attentions.0.proj_in.weight", c));
        assertEquals("input_blocks.3.0.op.weight", LdmNames.unet("down_blocks.0.downsamplers.0.conv.weight", c));
        assertEquals("output_blocks.11.0.skip_connection.weight", LdmNames.unet("up_blocks.3.resnets.2.conv_shortcut.weight", c));
        assertEquals("output_blocks.2.1.conv.bias", LdmNames.unet("up_blocks.0.upsamplers.0.conv.bias", c));
        assertEquals("output_blocks.5.2.conv.weight", LdmNames.unet("up_blocks.1.upsamplers.0.conv.weight", c));
        assertEquals("middle_block.2.emb_layers.1.weight", LdmNames.unet("mid_block.resnets.1.time_emb_proj.weight", c));
        assertEquals("middle_block.1.transformer_blocks.0.ff.net.0.proj.weight", LdmNames.unet("mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight", c));
        assertEquals("time_embed.2.bias", LdmNames.unet("time_embedding.linear_2.bias", c));
        VaeConfig v = VaeConfig.sd();
        assertEquals("decoder.up.3.block.2.conv1.weight", LdmNames.vae("decoder.up_blocks.0.resnets.2.conv1.weight", v));
        assertEquals("decoder.up.1.upsample.conv.weight", LdmNames.vae("decoder.up_blocks.2.upsamplers.0.conv.weight", v));
        assertEquals("encoder.down.1.block.0.nin_shortcut.bias", LdmNames.vae("encoder.down_blocks.1.resnets.0.conv_shortcut.bias", v));
        assertEquals("encoder.mid.attn_1.proj_out.weight", LdmNames.vae("encoder.mid_block.attentions.0.to_out.0.weight", v));
        assertEquals("encoder.mid.block_2.norm2.bias", LdmNames.vae("encoder.mid_block.resnets.1.norm2.bias", v));
        assertEquals("decoder.norm_out.weight", LdmNames.vae("decoder.conv_norm_out.weight", v));
    }
}
