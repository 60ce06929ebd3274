package org.lorascripts.models.sd.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.clip.ClipTextModel;
import org.lorascripts.models.sd.clip.ClipTextModelWithProjection;
import org.lorascripts.models.sd.clip.SdxlTextEncoder;
import org.lorascripts.models.sd.clip.TinySdxlText;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.vae.AutoencoderKL;

/**
 * SDXL checkpoints: the tiny single file (fp32 and fp16) and diffusers folder open to the same UNet,
 * text encoders and VAE; refiner, SD3 and Flux files are refused naming what was found; a separate
 * VAE replaces the checkpoint's in each naming style; SDXL's VAE runs in fp32.
 */
class SdxlCheckpointTest {
    @TempDir static Path tmp;
    static Path single, half, folder;

    @BeforeAll
    static void write() throws Exception {
        single = TinySdxl.writeCompleteLdm(tmp.resolve("tiny-sdxl.safetensors"), DType.F32);
        half = TinySdxl.writeCompleteLdm(tmp.resolve("tiny-sdxl-fp16.safetensors"), DType.F16);
        folder = TinySdxl.writeCompleteDiffusers(tmp.resolve("tiny-sdxl"));
    }

    /** Everything the pipeline will compute from a checkpoint, on fixed inputs. */
    record Outputs(float[] unet, float[] te1, float[] te2, float[] pooled, float[] vae) {}

    static Outputs run(SdCheckpoint c) throws Exception {
        try (Scope s = Scope.open()) {
            float[] unet;
            try (UNet2DConditionModel u = c.loadUnet(Device.CPU, DType.F32)) {
                unet = TinySdxl.completeInputs(DType.F32).run(u).toFloatArray();
            }
            Tensor ids1 = ids(c, SdxlTextEncoder.TE1), ids2 = ids(c, SdxlTextEncoder.TE2);
            float[] te1, te2, pooled;
            try (Weights w = new Weights(c.textWeights(SdxlTextEncoder.TE1), Device.CPU, DType.F32)) {
                te1 = new ClipTextModel(w, c.textConfig(SdxlTextEncoder.TE1)).penultimateHiddenState(ids1).toFloatArray();
            }
            try (Weights w = new Weights(c.textWeights(SdxlTextEncoder.TE2), Device.CPU, DType.F32)) {
                var out = new ClipTextModelWithProjection(w, c.textConfig(SdxlTextEncoder.TE2), c.pooledTextDim()).forward(ids2);
                te2 = out.penultimateHiddenState().toFloatArray();
                pooled = out.textEmbeds().toFloatArray();
            }
            float[] vae;
            try (AutoencoderKL v = c.loadVae(Device.CPU, c.vaeComputeDtype())) {
                Rng.manualSeed(3);
                vae = v.encode(Torch.randn(new long[] {1, 3, 16, 16}, DType.F32, Device.CPU)).mean().toFloatArray();
            }
            return new Outputs(unet, te1, te2, pooled, vae);
        }
    }

    static Tensor ids(SdCheckpoint c, SdxlTextEncoder which) throws Exception {
        int[] row = c.tokenizer(which).encodeForModel("a lighthouse at dusk, oil painting");
        long[] l = new long[row.length];
        for (int i = 0; i < row.length; i++) l[i] = row[i];
        return Torch.of(l, 1, row.length);
    }

    @Test
    void singleFileAndFolderOpenToTheSameModels() throws Exception {
        Outputs a, b, h;
        try (SdCheckpoint c = SdCheckpointLoader.open(single)) {
            assertEquals(SdFamily.SDXL, c.family());
            assertEquals(SdCheckpoint.Layout.LDM_SINGLE_FILE, c.layout());
            assertEquals(TinySdxl.completeUnetConfig(), c.unetConfig());
            assertEquals(0.13025, c.vaeConfig().scalingFactor());
            assertEquals(2, c.textEncoders().size());
            assertEquals(TinySdxlText.te1Config(), c.textConfig(SdxlTextEncoder.TE1));
            assertEquals(TinySdxlText.te2Config(), c.textConfig(SdxlTextEncoder.TE2));
            assertEquals(c.textConfig(SdxlTextEncoder.TE1), c.textConfig(), "textConfig() is TE1's for SDXL");
            assertEquals(TinySdxlText.TE2_PROJECTION, c.pooledTextDim());
            a = run(c);
        }
        try (SdCheckpoint c = SdCheckpointLoader.open(folder)) {
            assertEquals(SdFamily.SDXL, c.family());
            assertEquals(SdCheckpoint.Layout.DIFFUSERS, c.layout());
            assertEquals(TinySdxl.completeUnetConfig(), c.unetConfig());
            assertEquals(TinySdxl.vaeConfig(), c.vaeConfig());
            b = run(c);
        }
        try (SdCheckpoint c = SdCheckpointLoader.open(half)) {
            assertEquals(SdFamily.SDXL, c.family());
            h = run(c);
        }
        assertArrayEquals(a.unet(), b.unet(), 0f, "unet");
        assertArrayEquals(a.te1(), b.te1(), 0f, "te1 penultimate");
        assertArrayEquals(a.te2(), b.te2(), 0f, "te2 penultimate");
        assertArrayEquals(a.pooled(), b.pooled(), 0f, "te2 pooled");
        assertArrayEquals(a.vae(), b.vae(), 0f, "vae");
        // fp16 weights: the same models up to rounding
        assertArrayEquals(a.unet(), h.unet(), 2e-2f, "fp16 unet");
        assertArrayEquals(a.pooled(), h.pooled(), 2e-2f, "fp16 pooled");
        assertArrayEquals(a.vae(), h.vae(), 2e-2f, "fp16 vae");
    }

    @Test
    void sdxlVaeRunsInFp32AndTheNotesSaySo() throws Exception {
        try (SdCheckpoint c = SdCheckpointLoader.open(single)) {
            assertEquals(DType.F32, c.vaeComputeDtype());
            assertTrue(c.notes().stream().anyMatch(n -> n.startsWith("VAE: the checkpoint's (scaling factor 0.13025), run in fp32")), c.notes().toString());
        }
    }

    private static Path fake(String name, Map<String, long[]> tensors) throws Exception {
        SafetensorsWriter w = new SafetensorsWriter();
        for (var e : tensors.entrySet()) {
            long n = 1;
            for (long d : e.getValue()) n *= d;
            w.add(e.getKey(), DType.F32, e.getValue(), new byte[(int) n * 4]);
        }
        Path p = tmp.resolve(name);
        w.write(p);
        return p;
    }

    @Test
    void refinerSd3AndFluxAreRefusedNamingWhatWasFound() throws Exception {
        Path refiner = fake("refiner.safetensors", Map.of(
                "conditioner.embedders.0.model.ln_final.weight", new long[] {4},
                "model.diffusion_model.label_emb.0.0.weight", new long[] {4, 2560},
                "model.diffusion_model.input_blocks.0.0.weight", new long[] {4, 4, 3, 3}));
        var e = assertThrows(UnsupportedOperationException.class, () -> SdCheckpointLoader.open(refiner));
        assertEquals("refiner.safetensors: looks like the SDXL refiner (found conditioner.embedders.0.model.*, an OpenCLIP encoder only, no CLIP-L,"
                + " model.diffusion_model.label_emb.0.0.weight input 2560); only the SDXL base model is supported", e.getMessage());

        Path sd3 = fake("sd3.safetensors", Map.of("model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight", new long[] {4, 4}));
        e = assertThrows(UnsupportedOperationException.class, () -> SdCheckpointLoader.open(sd3));
        assertEquals("sd3.safetensors: looks like SD3 (found model.diffusion_model.joint_blocks.*); SD3 LoRA training is not supported yet", e.getMessage());
        Path sd3te = fake("sd3-te.safetensors", Map.of("text_encoders.clip_l.transformer.text_model.final_layer_norm.weight", new long[] {4}));
        e = assertThrows(UnsupportedOperationException.class, () -> SdCheckpointLoader.open(sd3te));
        assertEquals("sd3-te.safetensors: looks like SD3 (found text_encoders.*); SD3 LoRA training is not supported yet", e.getMessage());

        Path flux = fake("flux.safetensors", Map.of("double_blocks.0.img_attn.qkv.weight", new long[] {4, 4}, "single_blocks.0.linear1.weight", new long[] {4, 4}));
        e = assertThrows(UnsupportedOperationException.class, () -> SdCheckpointLoader.open(flux));
        assertEquals("flux.safetensors: looks like Flux (found double_blocks.*); Flux LoRA training is not supported yet", e.getMessage());
        Path fluxSingle = fake("flux-s.safetensors", Map.of("model.diffusion_model.single_blocks.0.linear1.weight", new long[] {4, 4}));
        e = assertThrows(UnsupportedOperationException.class, () -> SdCheckpointLoader.open(fluxSingle));
        assertEquals("flux-s.safetensors: looks like Flux (found model.diffusion_model.single_blocks.*); Flux LoRA training is not supported yet", e.getMessage());

        Path unknown = fake("other.safetensors", Map.of("foo.weight", new long[] {4}));
        var u = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(unknown));
        assertTrue(u.getMessage().startsWith("other.safetensors: unknown checkpoint layout: no model.diffusion_model.input_blocks.* tensors"), u.getMessage());
    }

    /** A VAE of another seed, by diffusers name, and its encoding of the test image. */
    static float[] otherVae(VaeFiles[] written) throws Exception {
        try (Scope s = Scope.open(); Weights w = TinySdxl.vaeWeights(99)) {
            written[0] = writeVaes(TinySdxl.randomVae(w));
            AutoencoderKL v = new AutoencoderKL(w, TinySdxl.vaeConfig());
            Rng.manualSeed(3);
            return v.encode(Torch.randn(new long[] {1, 3, 16, 16}, DType.F32, Device.CPU)).mean().toFloatArray();
        }
    }

    @Test
    void aSeparateVaeReplacesTheCheckpointsInEachNamingStyle() throws Exception {
        VaeFiles[] written = new VaeFiles[1];
        float[] expected = otherVae(written);
        VaeFiles files = written[0];
        for (Path p : List.of(files.diffusers(), files.ldm(), files.bare(), files.folder())) {
            for (Path ckpt : List.of(single, folder)) {
                try (SdCheckpoint c = SdCheckpointLoader.open(ckpt, null, null, p)) {
                    assertArrayEquals(expected, run(c).vae(), 0f, p + " over " + ckpt);
                    assertTrue(c.notes().stream().anyMatch(n -> n.startsWith("VAE: " + p + " (") && n.endsWith("instead of the checkpoint's")), c.notes().toString());
                }
            }
        }
        try (SdCheckpoint c = SdCheckpointLoader.open(single, null, null, files.folder())) {
            assertEquals(0.2, c.vaeConfig().scalingFactor(), "a folder's config.json gives the scaling factor");
        }
        try (SdCheckpoint c = SdCheckpointLoader.open(single, null, null, files.bare())) {
            assertEquals(0.13025, c.vaeConfig().scalingFactor(), "a file without config keeps SDXL's");
        }
        Path none = fake("not-a-vae.safetensors", Map.of("foo.weight", new long[] {4}));
        var e = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(single, null, null, none));
        assertTrue(e.getMessage().startsWith("vae not-a-vae.safetensors: no VAE tensors"), e.getMessage());
    }

    record VaeFiles(Path diffusers, Path ldm, Path bare, Path folder) {}

    static VaeFiles writeVaes(Map<String, Tensor> vae) throws Exception {
        Path diffusers = tmp.resolve("vae-diffusers.safetensors");
        TensorIO.save(diffusers, vae, Map.of());
        Map<String, Tensor> ldm = new LinkedHashMap<>(), bare = new LinkedHashMap<>();
        for (var e : vae.entrySet()) {
            String n = LdmNames.vae(e.getKey(), TinySdxl.vaeConfig());
            Tensor t = e.getValue();
            if (LdmNames.isVaeAttentionMatrix(e.getKey())) t = t.reshape(t.size(0), t.size(1), 1, 1);
            ldm.put(LdmNames.VAE_PREFIX + n, t);
            bare.put(n, t);
        }
        Path ldmFile = tmp.resolve("vae-ldm.safetensors"), bareFile = tmp.resolve("sdxl_vae.safetensors");
        TensorIO.save(ldmFile, ldm, Map.of());
        TensorIO.save(bareFile, bare, Map.of());
        Path dir = Files.createDirectories(tmp.resolve("vae-folder/vae"));
        TensorIO.save(dir.resolve("diffusion_pytorch_model.safetensors"), vae, Map.of());
        var c = TinySdxl.vaeConfig();
        Files.writeString(dir.resolve("config.json"), new org.lorascripts.models.sd.vae.VaeConfig(c.inChannels(), c.outChannels(), c.latentChannels(),
                c.blockOutChannels(), c.layersPerBlock(), c.normNumGroups(), c.sampleSize(), 0.2).toDiffusersJson());
        return new VaeFiles(diffusers, ldmFile, bareFile, dir);
    }
}
