package org.lorascripts.models.sd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.SampleSampler;
import org.lorascripts.models.sd.clip.TinySdxlText;
import org.lorascripts.models.sd.load.TinySdxl;
import org.lorascripts.models.sd.sampling.SdImageGenerator;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/** SDXL in the frozen pipeline: both encoders, pooled text, added conditions, sampling. */
class SdxlPipelineTest {
    @TempDir static Path tmp;
    static Path single, folder;

    @BeforeAll static void write() throws Exception {
        single = TinySdxl.writeCompleteLdm(tmp.resolve("tiny-sdxl.safetensors"), DType.F32);
        folder = TinySdxl.writeCompleteDiffusers(tmp.resolve("tiny-sdxl"));
    }

    static SdPipeline open(Path p) throws Exception {
        return SdPipeline.open(new BaseModel.Local(p), null, Device.CPU, DType.F32);
    }

    static float[] image(SdPipeline p, SampleSampler sampler, String negative) {
        try (Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            return new SdImageGenerator(p, 75, 1).generate(new SdImageGenerator.Request("a lighthouse at dusk", negative, 32, 32, 3, 5.0, sampler, 7))
                    .toFloatArray();
        }
    }

    @Test void bothLayoutsGiveTheSameImageForASeed() throws Exception {
        float[] a, b;
        try (SdPipeline p = open(single)) {
            assertEquals(SdFamily.SDXL, p.family());
            assertNotNull(p.textEncoder2());
            a = image(p, SampleSampler.DDIM, "");
        }
        try (SdPipeline p = open(folder)) {
            b = image(p, SampleSampler.DDIM, "");
        }
        assertEquals(3 * 32 * 32, a.length);
        for (float v : a) assertTrue(Float.isFinite(v), "a finite image");
        assertArrayEquals(a, b, 1e-5f);
    }

    @Test void contextIsBothPenultimateStatesAndPooledIsTe2sProjection() throws Exception {
        try (SdPipeline p = open(single); Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            SdPipeline.Conditioning c = p.encodeConditioning("a red fox in snow", 75, 1);
            assertArrayEquals(new long[] {1, 77, TinySdxlText.TE1_WIDTH + TinySdxlText.TE2_WIDTH}, c.context().shape());
            assertArrayEquals(new long[] {1, TinySdxlText.TE2_PROJECTION}, c.pooled().shape());
            Tensor ids1 = ids(p.tokenizer().encodeForModel("a red fox in snow"));
            Tensor ids2 = ids(p.tokenizer2().encodeForModel("a red fox in snow"));
            assertEquals(0, p.tokenizer2().padId(), "TE2 pads with 0");
            assertEquals(49407, p.tokenizer().padId(), "TE1 pads with EOS");
            float[] te1 = p.textEncoder().penultimateHiddenState(ids1).toFloatArray();
            var out2 = p.textEncoder2().forward(ids2);
            float[] te2 = out2.penultimateHiddenState().toFloatArray();
            float[] ctx = c.context().toFloatArray();
            int d1 = TinySdxlText.TE1_WIDTH, d2 = TinySdxlText.TE2_WIDTH;
            for (int t = 0; t < 77; t++) {
                for (int i = 0; i < d1; i++) assertEquals(te1[t * d1 + i], ctx[t * (d1 + d2) + i], 0f);
                for (int i = 0; i < d2; i++) assertEquals(te2[t * d2 + i], ctx[t * (d1 + d2) + d1 + i], 0f);
            }
            assertArrayEquals(out2.textEmbeds().toFloatArray(), c.pooled().toFloatArray(), 0f);
            assertEquals(c.context().shape()[2], p.encodePrompt("a red fox in snow", 75, 1).shape()[2], "encodePrompt is the SDXL context");
        }
    }

    @Test void longPromptsAreChunkedPerEncoderWithTheFirstChunksPooled() throws Exception {
        String longPrompt = "a red fox in snow, ".repeat(20);
        try (SdPipeline p = open(single); Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            SdPipeline.Conditioning c = p.encodeConditioning(longPrompt, 150, 1);
            assertArrayEquals(new long[] {1, 2 + 150, TinySdxlText.TE1_WIDTH + TinySdxlText.TE2_WIDTH}, c.context().shape());
            int[][] chunks = p.tokenizer2().encodeChunks(longPrompt, 150);
            Tensor first = ids(chunks[0]);
            assertArrayEquals(p.textEncoder2().forward(first).textEmbeds().toFloatArray(), c.pooled().toFloatArray(), 0f);
        }
    }

    @Test void anEmptyNegativePromptIsZerosAndAnotherIsEncoded() throws Exception {
        try (SdPipeline p = open(single); Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            SdPipeline.Conditioning cond = p.encodeConditioning("a lighthouse", 75, 1);
            for (String empty : new String[] {"", "  ", null}) {
                SdPipeline.Conditioning u = p.encodeNegative(empty, 75, 1, cond);
                assertArrayEquals(cond.context().shape(), u.context().shape());
                assertEquals(0.0, u.context().abs().sum().item(), 0.0);
                assertEquals(0.0, u.pooled().abs().sum().item(), 0.0);
            }
            SdPipeline.Conditioning n = p.encodeNegative("blurry", 75, 1, cond);
            assertTrue(n.context().abs().sum().item() > 0);
            assertTrue(n.pooled().abs().sum().item() > 0);
            assertArrayEquals(p.encodeConditioning("blurry", 75, 1).pooled().toFloatArray(), n.pooled().toFloatArray(), 0f);
        }
        try (SdPipeline p = open(single)) {
            assertFalse(java.util.Arrays.equals(image(p, SampleSampler.DDIM, ""), image(p, SampleSampler.DDIM, "blurry")),
                    "the negative prompt reaches the UNet");
        }
    }

    @Test void everySamplerDraws() throws Exception {
        try (SdPipeline p = open(single)) {
            for (SampleSampler sampler : SampleSampler.values()) {
                for (float v : image(p, sampler, "")) assertTrue(Float.isFinite(v), sampler + " gives a finite image");
            }
        }
    }

    @Test void clipSkipIsRefusedForSdxl() throws Exception {
        try (SdPipeline p = open(single); Scope s = Scope.open()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.encodeConditioning("x", 75, 2));
            assertTrue(e.getMessage().contains("penultimate"), e.getMessage());
        }
    }

    @Test void sd1HasNoSecondEncoderOrPooled() throws Exception {
        try (SdPipeline p = SdPipeline.open(new BaseModel.Builtin("tiny-sd"), null, Device.CPU, DType.F32);
             Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            assertNull(p.textEncoder2());
            SdPipeline.Conditioning c = p.encodeConditioning("a cat", 75, 1);
            assertNull(c.pooled());
            assertArrayEquals(p.encodePrompt("a cat", 75, 1).toFloatArray(), c.context().toFloatArray(), 0f);
            assertTrue(p.encodeNegative("", 75, 1, c).context().abs().sum().item() > 0, "SD 1.x encodes the empty prompt");
        }
    }

    static Tensor ids(int[] row) {
        long[] l = new long[row.length];
        for (int i = 0; i < row.length; i++) l[i] = row[i];
        return org.lorascripts.tensor.Torch.of(l, 1, row.length);
    }
}
