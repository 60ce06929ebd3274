package org.lorascripts.models.sd.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.LoraAdapter;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

/** ClipTextModel against HF transformers' CLIPTextModel outputs (fixtures from tools/fixtures/make_hf_model_fixtures.py). */
class ClipTextModelTest {
    static final Path FIXTURES = Path.of("src/test/resources/fixtures/hf");

    static double maxAbsDiff(Tensor a, Tensor b) {
        assertArrayEquals(b.shape(), a.shape(), "shape");
        return a.to(DType.F64).sub(b.to(DType.F64)).abs().amax().item();
    }

    @ParameterizedTest
    @ValueSource(strings = {"clip-sd1", "clip-sd2"})
    void matchesTransformers(String fixture) throws Exception {
        Path dir = FIXTURES.resolve(fixture);
        ClipTextConfig cfg = ClipTextConfig.fromHfConfig(dir.resolve("config.json"));
        try (Scope s = Scope.open(); SafetensorsFile model = SafetensorsFile.open(dir.resolve("model.safetensors"));
             SafetensorsFile expected = SafetensorsFile.open(dir.resolve("expected.safetensors"));
             Weights w = new Weights(ClipTextWeights.detect(model, fixture), Device.CPU, DType.F32)) {
            ClipTextModel clip = new ClipTextModel(w, cfg);
            ClipTextModel.Output out = clip.forward(TensorIO.read(expected, "input_ids"));
            double last = maxAbsDiff(out.lastHiddenState(), TensorIO.read(expected, "last_hidden_state"));
            double pooled = maxAbsDiff(out.pooled(), TensorIO.read(expected, "pooler_output"));
            System.out.printf("%s: last_hidden_state max abs diff %.3g, pooler_output %.3g%n", fixture, last, pooled);
            assertTrue(last < 1e-4, "last_hidden_state differs by " + last);
            assertTrue(pooled < 1e-4, "pooler_output differs by " + pooled);
            assertEquals(cfg.layers() + 1, out.hiddenStates().size());
            for (int i = 0; i <= cfg.layers(); i++) {
                double d = maxAbsDiff(out.hiddenStates().get(i), TensorIO.read(expected, "hidden_states." + i));
                System.out.printf("%s: hidden_states.%d max abs diff %.3g%n", fixture, i, d);
                assertTrue(d < 1e-4, "hidden_states." + i + " differs by " + d);
            }
        }
    }

    @Test
    void configFromHfJsonAndPresets() throws Exception {
        ClipTextConfig c = ClipTextConfig.fromHfConfig(FIXTURES.resolve("clip-sd1/config.json"));
        assertEquals(new ClipTextConfig(1000, 32, 37, 3, 4, 77, ClipTextConfig.Activation.QUICK_GELU, 1e-5, 998, 999, 999), c);
        assertEquals(ClipTextConfig.Activation.GELU, ClipTextConfig.fromHfConfig(FIXTURES.resolve("clip-sd2/config.json")).activation());
        ClipTextConfig sd15 = ClipTextConfig.sd15();
        assertEquals(List.of(49408, 768, 3072, 12, 12, 77), List.of(sd15.vocabSize(), sd15.hidden(), sd15.intermediate(), sd15.layers(), sd15.heads(), sd15.maxPositions()));
        ClipTextConfig sd2 = ClipTextConfig.sd2();
        assertEquals(List.of(1024, 4096, 23, 16), List.of(sd2.hidden(), sd2.intermediate(), sd2.layers(), sd2.heads()));
        assertEquals(ClipTextConfig.Activation.GELU, sd2.activation());
    }

    @Test
    void clipSkipTwoIsFinalNormOfThePenultimateLayer() throws Exception {
        Path dir = FIXTURES.resolve("clip-sd1");
        try (Scope s = Scope.open(); SafetensorsFile model = SafetensorsFile.open(dir.resolve("model.safetensors"));
             SafetensorsFile expected = SafetensorsFile.open(dir.resolve("expected.safetensors"));
             Weights w = new Weights(ClipTextWeights.detect(model, "clip-sd1"), Device.CPU, DType.F32)) {
            ClipTextConfig cfg = ClipTextConfig.fromHfConfig(dir.resolve("config.json"));
            ClipTextModel clip = new ClipTextModel(w, cfg);
            ClipTextModel.Output out = clip.forward(TensorIO.read(expected, "input_ids"), 2);
            Tensor penultimate = TensorIO.read(expected, "hidden_states." + (cfg.layers() - 1));   // hidden_states[-2]
            Tensor ref = Functional.layerNorm(penultimate, new long[] {cfg.hidden()}, TensorIO.read(model, "final_layer_norm.weight"),
                    TensorIO.read(model, "final_layer_norm.bias"), cfg.eps());
            double d = maxAbsDiff(out.lastHiddenState(), ref);
            System.out.printf("clip_skip 2 vs final_layer_norm(hidden_states[-2]): max abs diff %.3g%n", d);
            assertTrue(d < 1e-5, "clip_skip=2 differs by " + d);
            assertEquals(cfg.layers(), out.hiddenStates().size(), "the last layer is not run");
        }
    }

    private static List<double[]> loraGrads(boolean checkpointing) throws Exception {
        Path dir = FIXTURES.resolve("clip-sd2");
        try (Scope s = Scope.open(); SafetensorsFile model = SafetensorsFile.open(dir.resolve("model.safetensors"));
             SafetensorsFile expected = SafetensorsFile.open(dir.resolve("expected.safetensors"));
             Weights w = new Weights(ClipTextWeights.detect(model, "clip-sd2"), Device.CPU, DType.F32)) {
            ClipTextModel clip = new ClipTextModel(w, ClipTextConfig.fromHfConfig(dir.resolve("config.json")));
            clip.setGradientCheckpointing(checkpointing);
            Rng.manualSeed(5);
            try (LoraNetwork net = LoraNetwork.inject(clip.loraHosts(), n -> true, LoraSpec.of(4, 2), Device.CPU)) {
                assertEquals(6 * 3, net.size());
                for (LoraAdapter a : net.adapters().values()) a.up().detach().normal_(0, 0.1);
                ClipTextModel.Output out = clip.forward(TensorIO.read(expected, "input_ids"));
                assertEquals(checkpointing ? 3 : 0, org.lorascripts.tensor.Checkpoint.pendingSegments(), "one checkpointed segment per layer");
                out.lastHiddenState().pow(2).sum().add(out.pooled().sum()).backward();
                List<double[]> grads = new ArrayList<>();
                for (LoraAdapter a : net.adapters().values()) {
                    assertNotNull(a.down().grad(), "down gets a gradient");
                    grads.add(a.down().grad().toDoubleArray());
                    grads.add(a.up().grad().toDoubleArray());
                }
                return grads;
            }
        }
    }

    @Test
    void gradientCheckpointingGivesTheSameLoraGradients() throws Exception {
        List<double[]> plain = loraGrads(false);
        List<double[]> ckpt = loraGrads(true);
        assertEquals(plain.size(), ckpt.size());
        double max = 0;
        for (int i = 0; i < plain.size(); i++) {
            for (int j = 0; j < plain.get(i).length; j++) max = Math.max(max, Math.abs(plain.get(i)[j] - ckpt.get(i)[j]));
        }
        System.out.printf("gradient checkpointing: LoRA gradients max abs diff %.3g%n", max);
        assertTrue(max < 1e-5, "checkpointed gradients differ by " + max);
        assertEquals(0, org.lorascripts.tensor.Checkpoint.pendingSegments());
    }

    @Test
    void bf16AutocastStaysClose() throws Exception {
        Path dir = FIXTURES.resolve("clip-sd1");
        try (Scope s = Scope.open(); SafetensorsFile model = SafetensorsFile.open(dir.resolve("model.safetensors"));
             SafetensorsFile expected = SafetensorsFile.open(dir.resolve("expected.safetensors"));
             Weights w = new Weights(ClipTextWeights.detect(model, "clip-sd1"), Device.CPU, DType.F32)) {
            ClipTextModel clip = new ClipTextModel(w, ClipTextConfig.fromHfConfig(dir.resolve("config.json")));
            Tensor last;
            try (Autocast ac = Autocast.enable(Device.Type.CPU, DType.BF16)) {
                last = clip.forward(TensorIO.read(expected, "input_ids")).lastHiddenState();
            }
            double d = maxAbsDiff(last, TensorIO.read(expected, "last_hidden_state"));
            System.out.printf("bf16 autocast (CPU): last_hidden_state max abs diff %.3g (dtype %s)%n", d, last.dtype().displayName());
            assertTrue(d < 1e-1, "bf16 autocast differs by " + d);
        }
    }

    @Test
    void longPromptsKeepBosThe75MiddleTokensOfEachChunkAndTheLastEos() throws Exception {
        Path dir = FIXTURES.resolve("clip-sd1");
        try (Scope s = Scope.open(); SafetensorsFile model = SafetensorsFile.open(dir.resolve("model.safetensors"));
             SafetensorsFile expected = SafetensorsFile.open(dir.resolve("expected.safetensors"));
             Weights w = new Weights(ClipTextWeights.detect(model, "clip-sd1"), Device.CPU, DType.F32)) {
            ClipTextModel clip = new ClipTextModel(w, ClipTextConfig.fromHfConfig(dir.resolve("config.json")));
            long[] ids = TensorIO.read(expected, "input_ids").toLongArray();   // two rows of 77
            int[][] chunks = new int[3][77];
            for (int i = 0; i < 77; i++) {
                chunks[0][i] = (int) ids[i];
                chunks[1][i] = (int) ids[77 + i];
                chunks[2][i] = (int) ids[i];
            }
            Tensor h = clip.encodeChunks(chunks, 1);
            assertArrayEquals(new long[] {1, 2 + 75 * 3, 32}, h.shape());
            Tensor c0 = clip.forward(TensorIO.read(expected, "input_ids").narrow(0, 0, 1)).lastHiddenState();  // (1, 77, D)
            Tensor c1 = clip.forward(TensorIO.read(expected, "input_ids").narrow(0, 1, 1)).lastHiddenState();
            assertEquals(0, maxAbsDiff(h.narrow(1, 0, 1), c0.narrow(1, 0, 1)), 1e-6);
            assertEquals(0, maxAbsDiff(h.narrow(1, 1, 75), c0.narrow(1, 1, 75)), 1e-6);
            assertEquals(0, maxAbsDiff(h.narrow(1, 76, 75), c1.narrow(1, 1, 75)), 1e-6);
            assertEquals(0, maxAbsDiff(h.narrow(1, 151, 75), c0.narrow(1, 1, 75)), 1e-6);
            assertEquals(0, maxAbsDiff(h.narrow(1, 226, 1), c0.narrow(1, 76, 1)), 1e-6);
            // one chunk is the plain encoding; batches of chunked rows stay separate
            assertEquals(0, maxAbsDiff(clip.encodeChunks(new int[][] {chunks[1]}, 1), c1), 1e-6);
            Tensor batch = clip.encodeChunks(TensorIO.read(expected, "input_ids").repeat(1, 2), 1);   // (2, 154) → (2, 152, D)
            assertArrayEquals(new long[] {2, 152, 32}, batch.shape());
            assertEquals(0, maxAbsDiff(batch.narrow(0, 1, 1).narrow(1, 76, 75), c1.narrow(1, 1, 75)), 1e-6);
        }
    }
}
