package org.lorascripts.models.sd.load;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.SampleSampler;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.models.sd.clip.ClipTextConfig;
import org.lorascripts.models.sd.sampling.SdImageGenerator;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.models.sd.vae.VaeConfig;

/**
 * LDM single files of non-standard sizes (a small distilled SD 1.x, a merge with another text
 * encoder width) load with every dimension read from their tensors; what tensors cannot tell comes
 * from embedded configs, an LDM .yaml beside the file or ldm_config, else from presets with a note.
 */
class LdmAnySizeTest {
    @TempDir static Path dir;
    static Path small;

    /** Channels (16, 32, 32), 2 resnets per block, 2 transformer layers, linear projections, 48-wide context. */
    static final UNetConfig UNET = new UNetConfig(4, 4, 64, List.of(16, 32, 32), 2, List.of(8, 8, 8),
            List.of(UNetConfig.CROSS_DOWN, UNetConfig.CROSS_DOWN, UNetConfig.DOWN), List.of(UNetConfig.UP, UNetConfig.CROSS_UP, UNetConfig.CROSS_UP),
            48, 2, true, 16, 1e-5, false, UNetConfig.Prediction.EPSILON);
    static final VaeConfig VAE = new VaeConfig(3, 3, 4, List.of(16, 32), 1, 16, 512, VaeConfig.SD_SCALING_FACTOR);

    @BeforeAll
    static void writeSmallCheckpoint() throws Exception {
        small = dir.resolve("small.safetensors");
        TinySd.writeLdm(small, UNET, VAE, TinySd.textEncoderShapes(48, 3, 96), LdmNames.CLIP_PREFIX, Map.of(), 11);   // no embedded configs
    }

    @Test void everyDimensionComesFromTheTensorsAndTheAssumptionsAreSaid() throws Exception {
        try (SdCheckpoint c = SdCheckpointLoader.open(small)) {
            assertEquals(SdFamily.SD1, c.family());
            assertEquals(UNET, c.unetConfig());
            assertEquals(VAE, c.vaeConfig());
            ClipTextConfig t = c.textConfig();
            assertEquals(List.of(49408, 48, 96, 3, 8, 77), List.of(t.vocabSize(), t.hidden(), t.intermediate(), t.layers(), t.heads(), t.maxPositions()));
            assertEquals(ClipTextConfig.Activation.QUICK_GELU, t.activation());
            assertEquals(List.of(
                    "UNet blocks of 16 channels: 8 attention heads assumed (Stable Diffusion 1.x's rule); a .yaml next to the checkpoint, or ldm_config, can say otherwise",
                    "UNet blocks of 32 channels: 8 attention heads assumed (Stable Diffusion 1.x's rule); a .yaml next to the checkpoint, or ldm_config, can say otherwise",
                    "UNet channels [16, 32, 32]: 16 norm groups assumed (32 do not divide them)",
                    "VAE channels [16, 32]: 16 norm groups assumed (32 do not divide them)",
                    "text encoder of width 48: 8 attention heads assumed (the most up to 8 that divide it)"), c.notes());
        }
    }

    @Test void itDrawsEndToEnd() throws Exception {
        try (SdPipeline p = SdPipeline.open(new BaseModel.Local(small), null, Device.CPU, DType.F32);
             Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            Tensor img = new SdImageGenerator(p, 75, 1).generate(new SdImageGenerator.Request("a cat", "", 32, 32, 2, 3.0, SampleSampler.DDIM, 1));
            assertArrayEquals(new long[] {1, 3, 32, 32}, img.shape());
            assertTrue(img.isfinite().all().item() > 0, "finite pixels");
        }
    }

    @Test void aYamlBesideTheFileOrNamedByLdmConfigSaysWhatTheTensorsCannot() throws Exception {
        Path copy = dir.resolve("beside.safetensors");
        Files.copy(small, copy);
        Files.writeString(dir.resolve("beside.yaml"), """
                model:
                  target: ldm.models.diffusion.ddpm.LatentDiffusion
                  params:
                    parameterization: "v"
                    scale_factor: 0.5
                    unet_config:
                      params:
                        num_heads: 2
                """);
        try (SdCheckpoint c = SdCheckpointLoader.open(copy)) {
            assertEquals(List.of(2, 2, 2), c.unetConfig().attentionHeadDim());
            assertEquals(UNetConfig.Prediction.V_PREDICTION, c.prediction());
            assertEquals(0.5, c.vaeConfig().scalingFactor());
            assertEquals("LDM config beside.yaml read", c.notes().getFirst());
        }
        try (SdCheckpoint c = SdCheckpointLoader.open(copy, UNetConfig.Prediction.EPSILON)) {
            assertEquals(UNetConfig.Prediction.EPSILON, c.prediction(), "prediction_type in the config wins over the yaml");
        }
        Path heads = Files.writeString(dir.resolve("per-head.yaml"), "model:\n  params:\n    unet_config:\n      params:\n        num_head_channels: 8\n");
        try (SdCheckpoint c = SdCheckpointLoader.open(small, null, heads)) {
            assertEquals(List.of(2, 4, 4), c.unetConfig().attentionHeadDim(), "channels / num_head_channels");
        }
        Path three = Files.writeString(dir.resolve("three.yaml"), "model:\n  params:\n    unet_config:\n      params:\n        num_heads: 3\n");
        var wrong = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(small, null, three));
        assertEquals("three.yaml: num_heads 3 does not divide the 16-channel blocks of small.safetensors; fix the .yaml or remove it", wrong.getMessage());
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "model: [unclosed\n");
        var e = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(small, null, bad));
        assertTrue(e.getMessage().startsWith("bad.yaml: not valid YAML ("), e.getMessage());
        Path notLdm = Files.writeString(dir.resolve("other.yaml"), "name: something else\n");
        e = assertThrows(IllegalArgumentException.class, () -> SdCheckpointLoader.open(small, null, notLdm));
        assertEquals("other.yaml: not an LDM model config (no model.params); give the .yaml the checkpoint was released with", e.getMessage());
        var folder = assertThrows(IllegalArgumentException.class,
                () -> SdPipeline.open(new BaseModel.Builtin("tiny-sd"), null, heads, Device.CPU, DType.F32));
        assertTrue(folder.getMessage().contains("applies to single-file .safetensors checkpoints only"), folder.getMessage());
    }

    @Test void embeddedConfigsWinOverAYaml() throws Exception {
        Path withMeta = dir.resolve("meta.safetensors");
        TinySd.write(withMeta);
        Files.writeString(dir.resolve("meta.yaml"), "model:\n  params:\n    unet_config:\n      params:\n        num_heads: 1\n");
        try (SdCheckpoint c = SdCheckpointLoader.open(withMeta)) {
            assertEquals(TinySd.unetConfig(), c.unetConfig());
        }
    }

    @Test void implausibleSizesInAHeaderAreRefused() {
        LdmConfigs c = new LdmConfigs(null, "x.safetensors");
        var e = assertThrows(IllegalArgumentException.class, () -> c.bounded("model.diffusion_model.out.2.weight", 1L << 40));
        assertEquals("x.safetensors: model.diffusion_model.out.2.weight claims a dimension of 1099511627776; the file is damaged or not an SD"
                + " checkpoint", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> c.bounded("t", 0));
        assertEquals(320, c.bounded("t", 320));
    }

    @Test void variantsAreRefusedNamingWhatWasFound() throws Exception {
        UNetConfig pix2pix = new UNetConfig(8, 4, 64, List.of(32, 32), 1, List.of(8, 8), List.of(UNetConfig.CROSS_DOWN, UNetConfig.DOWN),
                List.of(UNetConfig.UP, UNetConfig.CROSS_UP), 48, 1, false, 32, 1e-5, false, UNetConfig.Prediction.EPSILON);
        Path p = dir.resolve("ip2p.safetensors");
        TinySd.writeLdm(p, pix2pix, VAE, Map.of("text_model.final_layer_norm.weight", new long[] {48}), LdmNames.CLIP_PREFIX, Map.of(), 3);
        var e = assertThrows(UnsupportedOperationException.class, () -> SdCheckpointLoader.open(p));
        assertEquals("ip2p.safetensors: the UNet takes 8 input channels (an instruct-pix2pix model, model.diffusion_model.input_blocks.0.0.weight); only 4-channel"
                + " text-to-image SD 1.x/2.x models are supported yet: train on the base model it was made from", e.getMessage());
    }
}
