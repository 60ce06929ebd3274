package org.lorascripts.models.sd.vae;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.models.sd.load.SdCheckpoint;
import org.lorascripts.models.sd.load.SdCheckpointLoader;
import org.lorascripts.models.sd.load.TinySd;

class VaeModelTest {
    @TempDir static Path dir;
    static Path tiny;

    @BeforeAll
    static void writeTiny() throws Exception {
        tiny = dir.resolve("tiny.safetensors");
        TinySd.write(tiny);
    }

    @Test
    void encodeDecodeShapesAndScaling() throws Exception {
        try (SdCheckpoint c = SdCheckpointLoader.open(tiny); AutoencoderKL vae = c.loadVae(Device.CPU, DType.F64); Scope s = Scope.open()) {
            Rng.manualSeed(3);
            Tensor img = Torch.rand(new long[] {2, 3, 16, 24}, DType.F64, Device.CPU).mul(2).sub(1);
            AutoencoderKL.LatentDistribution d = vae.encode(img);
            assertArrayEquals(new long[] {2, 4, 8, 12}, d.mean().shape());
            assertArrayEquals(new long[] {2, 4, 8, 12}, d.logvar().shape());
            Tensor noise = Torch.randn(new long[] {2, 4, 8, 12}, DType.F64, Device.CPU);
            double[] expected = d.mean().add(d.logvar().mul(0.5).exp().mul(noise)).mul(0.18215).toDoubleArray();
            assertArrayEquals(expected, vae.encodeToLatents(img, noise).toDoubleArray(), 1e-12);
            assertArrayEquals(d.mean().mul(0.18215).toDoubleArray(), vae.encodeToLatents(img, null).toDoubleArray(), 1e-12);
            Tensor lat = vae.encodeToLatents(img, noise);
            Tensor out = vae.decode(lat);
            assertArrayEquals(new long[] {2, 3, 16, 24}, out.shape());
            assertArrayEquals(vae.decodeRaw(lat.div(0.18215)).toDoubleArray(), out.toDoubleArray(), 1e-12);
            assertEquals(0.18215, vae.config().scalingFactor());
            assertEquals(2, vae.config().downscale());
        }
    }

    /**
     * The encoder and decoder free each block's activations as they go: only a handful of tensors are left
     * in the caller's scope (holding every intermediate needs tens of GiB for SDXL's VAE at 1024x1024).
     */
    @Test
    void encodeAndDecodeLeaveOnlyTheirResultsInTheCallersScope() throws Exception {
        try (SdCheckpoint c = SdCheckpointLoader.open(tiny); AutoencoderKL vae = c.loadVae(Device.CPU, DType.F32); Scope s = Scope.open()) {
            Tensor img = Torch.rand(new long[] {1, 3, 16, 16}, DType.F32, Device.CPU);
            int before = s.ownedCount();
            AutoencoderKL.LatentDistribution d = vae.encode(img);
            int afterEncode = s.ownedCount() - before;
            assertTrue(afterEncode <= 6, "encode left " + afterEncode + " tensors (the encoder output, the moments, their halves, the clamp)");
            int beforeDecode = s.ownedCount();
            vae.decodeRaw(d.mean());
            int afterDecode = s.ownedCount() - beforeDecode;
            assertTrue(afterDecode <= 2, "decode left " + afterDecode + " tensors (post_quant_conv and the decoder output)");
        }
    }

    @Test
    void attentionMatricesAreSqueezedFromConvs() throws Exception {
        try (SdCheckpoint c = SdCheckpointLoader.open(tiny)) {
            assertArrayEquals(new long[] {64, 64}, c.vaeWeights().shape("encoder.mid_block.attentions.0.to_q.weight").orElseThrow());
            assertArrayEquals(new long[] {64, 64}, c.vaeWeights().shape("decoder.mid_block.attentions.0.to_out.0.weight").orElseThrow());
            assertArrayEquals(new long[] {64}, c.vaeWeights().shape("decoder.mid_block.attentions.0.to_out.0.bias").orElseThrow());
            assertArrayEquals(new long[] {64, 32, 1, 1}, c.vaeWeights().shape("encoder.down_blocks.1.resnets.0.conv_shortcut.weight").orElseThrow());
        }
    }
}
