package org.lorascripts.models.sd.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.nn.MissingWeightException;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.text.clip.ClipTokenizer;

/**
 * SDXL's two text encoders: the diffusers folder and the LDM single file (TE2 with a fused in_proj and
 * a transposed text_projection) load to the same outputs; the penultimate hidden state, the pooled
 * output's EOS rule and projection, pad ids, errors, inferred dims and module names.
 */
class SdxlTextEncoderTest {
    static final SdxlTextEncoder TE1 = SdxlTextEncoder.TE1, TE2 = SdxlTextEncoder.TE2;
    static final String[] PROMPTS = {"a photo of a cat sitting on a red chair", "masterpiece, a lighthouse at dusk!"};

    @TempDir static Path tmp;
    static List<Map<String, Tensor>> hf;
    static Path folder, single;

    @BeforeAll
    static void writeCheckpoints() throws Exception {
        hf = TinySdxlText.hfTensors(20240731L);   // outside any scope: kept for the whole class
        folder = TinySdxlText.writeDiffusers(tmp.resolve("sdxl"), hf);
        single = TinySdxlText.writeLdm(tmp.resolve("sdxl.safetensors"), hf);
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        assertArrayEquals(b.shape(), a.shape(), "shape");
        return a.to(DType.F64).sub(b.to(DType.F64)).abs().amax().item();
    }

    /** The prompts as the encoder's SDXL tokenizer gives them: (B, 77). */
    static Tensor ids(SdxlTextEncoder te, String... prompts) throws Exception {
        ClipTokenizer tok = te.tokenizer(null);
        long[] flat = new long[prompts.length * 77];
        for (int i = 0; i < prompts.length; i++) {
            int[] row = tok.encodeForModel(prompts[i]);
            for (int j = 0; j < 77; j++) flat[i * 77 + j] = row[j];
        }
        return Torch.of(flat, prompts.length, 77);
    }

    record Encoded(Tensor te1Penultimate, Tensor te2Penultimate, Tensor textEmbeds) {}

    private static Encoded encode(ClipTextModel te1, ClipTextModelWithProjection te2) throws Exception {
        ClipTextModelWithProjection.Output out = te2.forward(ids(TE2, PROMPTS));
        return new Encoded(te1.penultimateHiddenState(ids(TE1, PROMPTS)), out.penultimateHiddenState(), out.textEmbeds());
    }

    @Test
    void diffusersFolderAndSingleFileGiveIdenticalOutputs() throws Exception {
        try (Scope s = Scope.open()) {
            Encoded fromFolder, fromFile, noPrefix;
            try (SafetensorsFile f1 = SafetensorsFile.open(folder.resolve("text_encoder/model.safetensors"));
                 SafetensorsFile f2 = SafetensorsFile.open(folder.resolve("text_encoder_2/model.safetensors"));
                 Weights w1 = new Weights(TE1.weights(f1, "text_encoder"), Device.CPU, DType.F32);
                 Weights w2 = new Weights(TE2.weights(f2, "text_encoder_2"), Device.CPU, DType.F32)) {
                int projection = TE2.projectionDim(TE2.weights(f2, "text_encoder_2"), "text_encoder_2");
                assertEquals(TinySdxlText.TE2_PROJECTION, projection);
                fromFolder = encode(new ClipTextModel(w1, TE1.config(folder)), new ClipTextModelWithProjection(w2, TE2.config(folder), projection));
            }
            try (SafetensorsFile f = SafetensorsFile.open(single);
                 Weights w1 = new Weights(TE1.weights(f, "sdxl.safetensors"), Device.CPU, DType.F32);
                 Weights w2 = new Weights(TE2.weights(f, "sdxl.safetensors"), Device.CPU, DType.F32)) {
                ClipTextDims d1 = TE1.inferDims(TE1.weights(f, "sdxl.safetensors"), "sdxl.safetensors", null);
                ClipTextDims d2 = TE2.inferDims(TE2.weights(f, "sdxl.safetensors"), "sdxl.safetensors", null);
                fromFile = encode(new ClipTextModel(w1, d1.config()), new ClipTextModelWithProjection(w2, d2.config(), d2.projectionDim().orElseThrow()));
            }
            // transformers 5 saves the text model without text_model.; text_projection stays at the root
            Map<String, Tensor> bare = new LinkedHashMap<>();
            hf.get(1).forEach((k, v) -> bare.put(k.startsWith("text_model.") ? k.substring("text_model.".length()) : k, v));
            Path bareFile = tmp.resolve("te2-bare.safetensors");
            TensorIO.save(bareFile, bare, Map.of());
            try (SafetensorsFile f1 = SafetensorsFile.open(folder.resolve("text_encoder/model.safetensors"));
                 SafetensorsFile f2 = SafetensorsFile.open(bareFile);
                 Weights w1 = new Weights(TE1.weights(f1, "text_encoder"), Device.CPU, DType.F32);
                 Weights w2 = new Weights(TE2.weights(f2, "te2-bare"), Device.CPU, DType.F32)) {
                noPrefix = encode(new ClipTextModel(w1, TE1.config(folder)),
                        new ClipTextModelWithProjection(w2, TE2.config(folder), TinySdxlText.TE2_PROJECTION));
            }
            assertArrayEquals(new long[] {2, 77, TinySdxlText.TE1_WIDTH}, fromFolder.te1Penultimate().shape());
            assertArrayEquals(new long[] {2, 77, TinySdxlText.TE2_WIDTH}, fromFolder.te2Penultimate().shape());
            assertArrayEquals(new long[] {2, TinySdxlText.TE2_PROJECTION}, fromFolder.textEmbeds().shape());
            for (Encoded other : List.of(fromFile, noPrefix)) {
                assertEquals(0, maxAbsDiff(other.te1Penultimate(), fromFolder.te1Penultimate()), "te1 penultimate");
                assertEquals(0, maxAbsDiff(other.te2Penultimate(), fromFolder.te2Penultimate()), "te2 penultimate");
                assertEquals(0, maxAbsDiff(other.textEmbeds(), fromFolder.textEmbeds()), "te2 text_embeds");
            }
        }
    }

    @Test
    void singleFileTextProjectionIsReadTransposedAndQkvAsThirdsOfInProj() throws Exception {
        try (Scope s = Scope.open(); SafetensorsFile f = SafetensorsFile.open(single)) {
            ClipTextWeights w = TE2.weights(f, "sdxl.safetensors");
            assertEquals("conditioner.embedders.1.model.text_projection", w.fileName(ClipTextWeights.TEXT_PROJECTION).orElseThrow());
            assertArrayEquals(new long[] {TinySdxlText.TE2_WIDTH, TinySdxlText.TE2_PROJECTION},
                    f.info("conditioner.embedders.1.model.text_projection").shape(), "stored (D, P)");
            assertArrayEquals(new long[] {TinySdxlText.TE2_PROJECTION, TinySdxlText.TE2_WIDTH}, w.shape(ClipTextWeights.TEXT_PROJECTION).orElseThrow());
            try (Tensor p = w.load(ClipTextWeights.TEXT_PROJECTION, null, Device.CPU, DType.F32);
                 Tensor v = w.load("text_model.encoder.layers.2.self_attn.v_proj.bias", null, Device.CPU, DType.F32)) {
                assertEquals(0, maxAbsDiff(p, hf.get(1).get("text_projection.weight")));
                assertEquals(0, maxAbsDiff(v, hf.get(1).get("text_model.encoder.layers.2.self_attn.v_proj.bias")));
            }
            assertEquals("conditioner.embedders.1.model.transformer.resblocks.2.attn.in_proj_bias",
                    w.fileName("text_model.encoder.layers.2.self_attn.v_proj.bias").orElseThrow());
            assertEquals("conditioner.embedders.0.transformer.text_model.encoder.layers.0.mlp.fc1.weight",
                    TE1.weights(f, "sdxl.safetensors").fileName("text_model.encoder.layers.0.mlp.fc1.weight").orElseThrow());
        }
    }

    @Test
    void penultimateIsTheOutputOfLayerLMinus1WithoutTheFinalNorm() throws Exception {
        ClipTextConfig c1 = TinySdxlText.te1Config(), c2 = TinySdxlText.te2Config();
        try (Scope s = Scope.open(); SafetensorsFile f = SafetensorsFile.open(single);
             Weights w1 = new Weights(TE1.weights(f, "sdxl.safetensors"), Device.CPU, DType.F32);
             Weights w2 = new Weights(TE2.weights(f, "sdxl.safetensors"), Device.CPU, DType.F32)) {
            ClipTextModel te1 = new ClipTextModel(w1, c1);
            ClipTextModel te1Cut = new ClipTextModel(w1, c1.withLayers(c1.layers() - 1));
            Tensor ids = ids(TE1, PROMPTS);
            Tensor penultimate = te1.penultimateHiddenState(ids);
            // the same as a model one layer shorter gives before its final norm
            assertEquals(0, maxAbsDiff(penultimate, te1Cut.forward(ids).hiddenStates().getLast()));
            ClipTextModel.Output all = te1.forward(ids);
            assertEquals(c1.layers() + 1, all.hiddenStates().size());
            assertEquals(0, maxAbsDiff(penultimate, all.hiddenStates().get(c1.layers() - 1)), "HF's hidden_states[-2]");
            // not normed: final_layer_norm of it is clip_skip 2's output, which differs from it
            Tensor normed = Functional.layerNorm(penultimate, new long[] {c1.hidden()}, hf.get(0).get("text_model.final_layer_norm.weight"),
                    hf.get(0).get("text_model.final_layer_norm.bias"), c1.eps());
            assertTrue(maxAbsDiff(normed, te1.forward(ids, 2).lastHiddenState()) < 1e-5);
            assertTrue(maxAbsDiff(normed, penultimate) > 0.1, "the final norm must not be applied");
            // other depths: -1 is the last layer's output, -(L+1) the embeddings
            assertEquals(0, maxAbsDiff(te1.hiddenState(ids, 1), all.hiddenStates().getLast()));
            assertEquals(0, maxAbsDiff(te1.hiddenState(ids, c1.layers() + 1), all.hiddenStates().getFirst()));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> te1.hiddenState(ids, c1.layers() + 2));
            assertEquals("hidden state -5 does not exist: the encoder has 3 layers (hidden states -1 .. -4)", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> te1.hiddenState(ids, 0));

            // TE2 runs every layer (the pooled output needs the last) and returns the penultimate unnormed
            ClipTextModelWithProjection te2 = new ClipTextModelWithProjection(w2, c2, TinySdxlText.TE2_PROJECTION);
            ClipTextModel te2Cut = new ClipTextModel(w2, c2.withLayers(c2.layers() - 1));
            Tensor ids2 = ids(TE2, PROMPTS);
            ClipTextModelWithProjection.Output out = te2.forward(ids2);
            assertEquals(0, maxAbsDiff(out.penultimateHiddenState(), te2Cut.forward(ids2).hiddenStates().getLast()));
            assertEquals(0, maxAbsDiff(out.penultimateHiddenState(), te2.textModel().penultimateHiddenState(ids2)));
            assertEquals(c2.layers() + 1, out.text().hiddenStates().size());
        }
    }

    /** Row r's pooled output as HF computes it: final_layer_norm(last layer)[r, pos] @ text_projection.weight^T. */
    private static Tensor expectedEmbeds(Tensor lastLayer, int row, long pos, ClipTextConfig c) {
        Map<String, Tensor> t = hf.get(1);
        Tensor normed = Functional.layerNorm(lastLayer, new long[] {c.hidden()}, t.get("text_model.final_layer_norm.weight"),
                t.get("text_model.final_layer_norm.bias"), c.eps());
        Tensor v = normed.select(0, row).select(0, pos).reshape(1, c.hidden());                     // (1, D)
        return v.matmul(t.get("text_projection.weight").transpose(0, 1));                            // (1, P)
    }

    private static int argmax(long[] row) {
        int best = 0;
        for (int i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    @Test
    void pooledIsTheProjectedFinalNormAtTheEosPosition() throws Exception {
        ClipTextConfig legacy = TinySdxlText.te2Config();
        assertEquals(ClipTextConfig.LEGACY_EOS_ID, legacy.eosTokenId());
        ClipTextConfig newer = new ClipTextConfig(legacy.vocabSize(), legacy.hidden(), legacy.intermediate(), legacy.layers(), legacy.heads(),
                legacy.maxPositions(), legacy.activation(), legacy.eps(), legacy.bosTokenId(), 49407, legacy.padTokenId());
        try (Scope s = Scope.open(); SafetensorsFile f = SafetensorsFile.open(single);
             Weights w = new Weights(TE2.weights(f, "sdxl.safetensors"), Device.CPU, DType.F32)) {
            // row 0: a prompt ("!" inside becomes id 0, as the pad), padded with 0 after its EOS;
            // row 1: no BOS/EOS at all (a cut row), where the legacy rule takes the largest id and the newer one position 0
            long[] prompt = ids(TE2, "a red fox!").toLongArray();
            long[] cut = new long[77];
            for (int i = 0; i < 77; i++) cut[i] = 320 + (i * 37) % 500;
            cut[40] = 20000;
            long[] flat = new long[154];
            System.arraycopy(prompt, 0, flat, 0, 77);
            System.arraycopy(cut, 0, flat, 77, 77);
            Tensor ids = Torch.of(flat, 2, 77);
            int eos = argmax(prompt);
            assertEquals(49407, prompt[eos]);
            assertEquals(0, prompt[eos + 1], "padded with 0");
            assertEquals(40, argmax(cut));

            ClipTextModelWithProjection te2 = new ClipTextModelWithProjection(w, legacy, TinySdxlText.TE2_PROJECTION);
            ClipTextModelWithProjection.Output out = te2.forward(ids);
            Tensor last = out.text().hiddenStates().getLast();
            assertTrue(maxAbsDiff(out.textEmbeds().narrow(0, 0, 1), expectedEmbeds(last, 0, eos, legacy)) < 1e-5);
            assertTrue(maxAbsDiff(out.textEmbeds().narrow(0, 1, 1), expectedEmbeds(last, 1, 40, legacy)) < 1e-5);

            ClipTextModelWithProjection.Output newerOut = new ClipTextModelWithProjection(w, newer, TinySdxlText.TE2_PROJECTION).forward(ids);
            assertTrue(maxAbsDiff(newerOut.textEmbeds().narrow(0, 0, 1), expectedEmbeds(last, 0, eos, legacy)) < 1e-5, "same EOS on real rows");
            assertTrue(maxAbsDiff(newerOut.textEmbeds().narrow(0, 1, 1), expectedEmbeds(last, 1, 0, legacy)) < 1e-5, "first EOS, none: 0");

            // diffusers' text_encoder_2/config.json of SDXL carries the legacy eos_token_id 2
            assertEquals(ClipTextConfig.LEGACY_EOS_ID, TE2.config(folder).eosTokenId());
        }
    }

    @Test
    void eachEncoderPadsAsItsTokenizerSays(@TempDir Path dir) throws Exception {
        assertEquals(49407, TE1.defaultPadId());
        assertEquals(0, TE2.defaultPadId());
        assertEquals(49407, TE1.tokenizer(null).padId());
        assertEquals(0, TE2.tokenizer(null).padId());
        // SDXL's folder: tokenizer/ names <|endoftext|>, tokenizer_2/ "!"
        assertEquals(49407, TE1.tokenizer(folder).padId());
        assertEquals(0, TE2.tokenizer(folder).padId());
        int[] ids = TE2.tokenizer(folder).encodeForModel("a cat");
        assertEquals(List.of(49406L, 49407L, 0L, 0L), List.of((long) ids[0], (long) ids[3], (long) ids[4], (long) ids[76]));
        assertEquals(49407, TE1.tokenizer(folder).encodeForModel("a cat")[76]);
        // the configs follow the tokenizer, not config.json's pad_token_id 1
        assertEquals(49407, TE1.config(folder).padTokenId());
        assertEquals(0, TE2.config(folder).padTokenId());

        // tokenizer_config.json (object form) wins over special_tokens_map.json
        Path m = dir.resolve("m");
        Files.createDirectories(m.resolve("tokenizer_2"));
        Files.writeString(m.resolve("tokenizer_2/special_tokens_map.json"), TinySdxlText.specialTokens("!"));
        Files.writeString(m.resolve("tokenizer_2/tokenizer_config.json"), "{\"pad_token\": {\"content\": \"<|endoftext|>\", \"lstrip\": false}}");
        assertEquals(49407, TE2.tokenizer(m).padId());
        // a tokenizer_2/ that names no pad token: SDXL's default, not <|endoftext|>
        Files.delete(m.resolve("tokenizer_2/special_tokens_map.json"));
        Files.writeString(m.resolve("tokenizer_2/tokenizer_config.json"), "{\"model_max_length\": 77}");
        assertEquals(0, TE2.tokenizer(m).padId());
        // no tokenizer folders at all
        assertEquals(49407, TE1.tokenizer(dir).padId());
        assertEquals(0, TE2.tokenizer(dir).padId());
    }

    @Test
    void missingTensorsAreOneLineErrorsNamingTheTensorAndTheFile() throws Exception {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> ldm = TinySdxlText.ldmTensors(hf);
            ldm.remove("conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj_weight");
            Path broken = tmp.resolve("broken.safetensors");
            TensorIO.save(broken, ldm, Map.of());
            try (SafetensorsFile f = SafetensorsFile.open(broken);
                 Weights w = new Weights(TE2.weights(f, "broken.safetensors"), Device.CPU, DType.F32)) {
                MissingWeightException e = assertThrows(MissingWeightException.class,
                        () -> new ClipTextModelWithProjection(w, TinySdxlText.te2Config(), TinySdxlText.TE2_PROJECTION));
                assertEquals("broken.safetensors: missing tensor text_model.encoder.layers.1.self_attn.q_proj.weight [128, 128]"
                        + " (conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj_weight in the file);"
                        + " the checkpoint does not match the expected architecture", e.getMessage());
            }

            ldm = TinySdxlText.ldmTensors(hf);
            ldm.remove("conditioner.embedders.1.model.text_projection");
            Path noProjection = tmp.resolve("no-projection.safetensors");
            TensorIO.save(noProjection, ldm, Map.of());
            try (SafetensorsFile f = SafetensorsFile.open(noProjection)) {
                ClipTextWeights w = TE2.weights(f, "no-projection.safetensors");
                MissingWeightException e = assertThrows(MissingWeightException.class, () -> TE2.inferDims(w, "no-projection.safetensors", null));
                assertEquals("no-projection.safetensors: missing tensor text_projection.weight (conditioner.embedders.1.model.text_projection in the file);"
                        + " SDXL's text encoder 2 (OpenCLIP ViT-bigG) needs it for the pooled embedding", e.getMessage());
                // a file with only the second encoder has no first one
                ldm.keySet().removeIf(k -> k.startsWith("conditioner.embedders.0."));
                Path onlyTe2 = tmp.resolve("only-te2.safetensors");
                TensorIO.save(onlyTe2, ldm, Map.of());
                try (SafetensorsFile g = SafetensorsFile.open(onlyTe2)) {
                    IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> TE1.weights(g, "only-te2.safetensors"));
                    assertEquals("only-te2.safetensors: no SDXL text encoder 1 (CLIP ViT-L) found (looked for text_model.embeddings.token_embedding.weight"
                            + " and conditioner.embedders.0.transformer.[text_model.]embeddings.token_embedding.weight)", none.getMessage());
                }
            }

            Map<String, Tensor> diffusers = new LinkedHashMap<>(hf.get(1));
            diffusers.remove("text_projection.weight");
            Path te2 = tmp.resolve("te2-no-projection.safetensors");
            TensorIO.save(te2, diffusers, Map.of());
            try (SafetensorsFile f = SafetensorsFile.open(te2);
                 Weights w = new Weights(TE2.weights(f, "text_encoder_2/model.safetensors"), Device.CPU, DType.F32)) {
                MissingWeightException e = assertThrows(MissingWeightException.class,
                        () -> new ClipTextModelWithProjection(w, TinySdxlText.te2Config(), TinySdxlText.TE2_PROJECTION));
                assertEquals("text_encoder_2/model.safetensors: missing tensor text_projection.weight [96, 128];"
                        + " the checkpoint does not match the expected architecture", e.getMessage());
                assertFalse(e.getMessage().contains("\n"));
            }
        }
    }

    @Test
    void dimsAreInferredFromTheTensorsInBothLayouts() throws Exception {
        try (Scope s = Scope.open(); SafetensorsFile f = SafetensorsFile.open(single);
             SafetensorsFile f1 = SafetensorsFile.open(folder.resolve("text_encoder/model.safetensors"));
             SafetensorsFile f2 = SafetensorsFile.open(folder.resolve("text_encoder_2/model.safetensors"))) {
            List<String> notes = new ArrayList<>();
            ClipTextDims te1 = TE1.inferDims(TE1.weights(f, "sdxl.safetensors"), "sdxl.safetensors", notes);
            ClipTextDims te2 = TE2.inferDims(TE2.weights(f, "sdxl.safetensors"), "sdxl.safetensors", notes);
            assertEquals(new ClipTextDims(TinySdxlText.te1Config(), OptionalInt.empty()), te1);
            assertEquals(new ClipTextDims(TinySdxlText.te2Config(), OptionalInt.of(TinySdxlText.TE2_PROJECTION)), te2);
            assertEquals(List.of("text encoder of width 64: 1 attention head assumed (CLIP's 64 channels per head)",
                    "text encoder of width 128: 2 attention heads assumed (CLIP's 64 channels per head)"), notes);
            assertEquals(te1, TE1.inferDims(TE1.weights(f1, "text_encoder"), "text_encoder", null));
            assertEquals(te2, TE2.inferDims(TE2.weights(f2, "text_encoder_2"), "text_encoder_2", null));
            // full-size presets: 768 → 12 heads, 1280 → 20 heads (64 per head), as the rule gives
            assertEquals(List.of(768, 12, 3072, 12), List.of(TE1.preset().hidden(), TE1.preset().heads(), TE1.preset().intermediate(), TE1.preset().layers()));
            assertEquals(List.of(1280, 20, 5120, 32), List.of(TE2.preset().hidden(), TE2.preset().heads(), TE2.preset().intermediate(), TE2.preset().layers()));
            assertEquals(ClipTextConfig.Activation.GELU, TE2.preset().activation());
            assertEquals(ClipTextConfig.Activation.QUICK_GELU, TE1.preset().activation());
        }
    }

    @Test
    void moduleNamesAreHfNamesInBothLayoutsForKohyasTe1AndTe2Keys() throws Exception {
        try (Scope s = Scope.open(); SafetensorsFile f = SafetensorsFile.open(single);
             SafetensorsFile f1 = SafetensorsFile.open(folder.resolve("text_encoder/model.safetensors"));
             SafetensorsFile f2 = SafetensorsFile.open(folder.resolve("text_encoder_2/model.safetensors"));
             Weights l1 = new Weights(TE1.weights(f, "sdxl.safetensors"), Device.CPU, DType.F32);
             Weights l2 = new Weights(TE2.weights(f, "sdxl.safetensors"), Device.CPU, DType.F32);
             Weights d1 = new Weights(TE1.weights(f1, "text_encoder"), Device.CPU, DType.F32);
             Weights d2 = new Weights(TE2.weights(f2, "text_encoder_2"), Device.CPU, DType.F32)) {
            List<String> te1 = List.copyOf(new ClipTextModel(l1, TinySdxlText.te1Config()).loraHosts().keySet());
            List<String> te2 = List.copyOf(new ClipTextModelWithProjection(l2, TinySdxlText.te2Config(), TinySdxlText.TE2_PROJECTION).loraHosts().keySet());
            assertEquals(te1, List.copyOf(new ClipTextModel(d1, TinySdxlText.te1Config()).loraHosts().keySet()));
            assertEquals(te2, List.copyOf(new ClipTextModelWithProjection(d2, TinySdxlText.te2Config(), TinySdxlText.TE2_PROJECTION).loraHosts().keySet()));

            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                for (String m : List.of("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2")) {
                    expected.add("text_model.encoder.layers." + i + "." + m);
                }
            }
            assertEquals(expected, te1);
            assertEquals(expected, te2, "te2: HF names from OpenCLIP in_proj too; no text_projection");
            assertEquals("lora_te1_text_model_encoder_layers_0_self_attn_q_proj", KohyaLoraWriter.loraName(KohyaLoraWriter.PREFIX_TEXT_ENCODER1, te1.get(0)));
            assertEquals("lora_te2_text_model_encoder_layers_2_self_attn_out_proj",
                    KohyaLoraWriter.loraName(KohyaLoraWriter.PREFIX_TEXT_ENCODER2, "text_model.encoder.layers.2.self_attn.out_proj"));
            assertTrue(te2.contains("text_model.encoder.layers.2.self_attn.out_proj"));
            // every layer has q, k, v and out_proj: what WebUI needs to fold a te2 attention LoRA into in_proj
            TreeSet<String> attention = new TreeSet<>();
            for (String n : te2) if (n.contains(".self_attn.")) attention.add(n.substring(0, n.indexOf(".self_attn.")));
            for (String layer : attention) {
                for (String p : List.of("q_proj", "k_proj", "v_proj", "out_proj")) assertTrue(te2.contains(layer + ".self_attn." + p), layer + " " + p);
            }
            assertEquals(3, attention.size());
        }
    }
}
