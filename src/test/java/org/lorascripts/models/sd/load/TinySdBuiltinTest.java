package org.lorascripts.models.sd.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.SampleSampler;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.models.sd.sampling.SdImageGenerator;

/** builtin:tiny-sd and builtin:tiny-sdxl are pretrained: they draw the shape, colour and background a prompt asks for, not noise. */
class TinySdBuiltinTest {
    @TempDir Path dir;

    /** (H, W, 3) in 0..255 of one 64×64 sample. */
    static float[][][] draw(SdPipeline p, String prompt, long seed) {
        try (Scope s = Scope.open(); Autograd.GradMode g = Autograd.noGrad()) {
            Tensor img = new SdImageGenerator(p, 75, 1).generate(new SdImageGenerator.Request(prompt, "", 64, 64, 20, 5.0, SampleSampler.DDIM, seed));
            float[] v = img.select(0, 0).add(1).mul(127.5).clamp(0, 255).permute(1, 2, 0).contiguous().to(DType.F32, Device.CPU).toFloatArray();
            float[][][] hwc = new float[64][64][3];
            for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) for (int c = 0; c < 3; c++) hwc[y][x][c] = v[(y * 64 + x) * 3 + c];
            return hwc;
        }
    }

    /** Mean RGB over the four 8×8 corners. */
    static float[] corners(float[][][] im) {
        float[] m = new float[3];
        int n = 0;
        for (int y = 0; y < 64; y++) for (int x = 0; x < 64; x++) {
            if ((y < 8 || y >= 56) && (x < 8 || x >= 56)) {
                for (int c = 0; c < 3; c++) m[c] += im[y][x][c];
                n++;
            }
        }
        for (int c = 0; c < 3; c++) m[c] /= n;
        return m;
    }

    /** Mean RGB over the central 16×16. */
    static float[] centre(float[][][] im) {
        float[] m = new float[3];
        for (int y = 24; y < 40; y++) for (int x = 24; x < 40; x++) for (int c = 0; c < 3; c++) m[c] += im[y][x][c] / 256f;
        return m;
    }

    /** Mean absolute difference of horizontally neighbouring pixels: high for noise, low for flat shapes. */
    static double roughness(float[][][] im) {
        double s = 0;
        for (int y = 0; y < 64; y++) for (int x = 0; x < 63; x++) for (int c = 0; c < 3; c++) s += Math.abs(im[y][x + 1][c] - im[y][x][c]);
        return s / (64 * 63 * 3);
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-sd", "tiny-sdxl"})
    void drawsWhatThePromptSays(String name) throws Exception {
        try (SdPipeline p = SdPipeline.open(new BaseModel.Builtin(name), null, Device.CPU, DType.F32)) {
            assertEquals(name.equals("tiny-sdxl") ? SdFamily.SDXL : SdFamily.SD1, p.family());
            for (long seed : new long[] {1, 2}) {
                float[][][] im = draw(p, "a red circle on a blue background", seed);
                float[] bg = corners(im), fg = centre(im);
                assertTrue(bg[2] > bg[0] + 60, "blue background, seed " + seed + ": " + java.util.Arrays.toString(bg));
                assertTrue(fg[0] > fg[2] + 60, "red circle in the middle, seed " + seed + ": " + java.util.Arrays.toString(fg));

                im = draw(p, "a yellow star on a black background", seed);
                bg = corners(im);
                fg = centre(im);
                assertTrue(bg[0] < 70 && bg[1] < 70 && bg[2] < 70, "black background: " + java.util.Arrays.toString(bg));
                assertTrue(fg[0] > 130 && fg[1] > 110 && fg[2] < fg[1] - 60, "yellow star: " + java.util.Arrays.toString(fg));
            }
        }
    }

    @Test void itsPicturesAreFarSmootherThanARandomModelsNoise() throws Exception {
        Path random = dir.resolve("random.safetensors");
        TinySd.write(random);
        double pretrained, noise;
        try (SdPipeline p = SdPipeline.open(new BaseModel.Builtin("tiny-sd"), null, Device.CPU, DType.F32)) {
            pretrained = roughness(draw(p, "a green square on a white background", 3));
        }
        try (SdPipeline p = SdPipeline.open(new BaseModel.Local(random), null, Device.CPU, DType.F32)) {
            noise = roughness(draw(p, "a green square on a white background", 3));
        }
        System.out.printf("neighbour difference: pretrained %.2f, random weights %.2f%n", pretrained, noise);
        assertTrue(pretrained * 3 < noise, "pretrained " + pretrained + " vs random " + noise);
    }
}
