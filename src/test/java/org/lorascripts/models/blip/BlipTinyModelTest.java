package org.lorascripts.models.blip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.nn.Weights;
import org.lorascripts.nn.WeightShapeException;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.nn.CheckpointWeights;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** The tiny BLIP with deterministic random weights on the CPU: shapes, the KV cache, beam search, loading. */
class BlipTinyModelTest {
    private static final BlipConfig CFG = BlipConfig.tiny();

    static Tensor pixels(long batch, long seed) {
        Rng.manualSeed(Device.CPU, seed);
        return Torch.randn(batch, 3, 64, 64);
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        try (Scope s = Scope.open()) {
            return a.sub(b).abs().amax().item();
        }
    }

    @Test
    void shapesThroughVisionAndText() {
        try (BlipForConditionalGeneration m = BlipForConditionalGeneration.random(CFG, 1, Device.CPU, DType.F32);
             Scope s = Scope.open(); var ng = Autograd.noGrad()) {
            Tensor image = m.imageEmbeds(pixels(2, 3));
            assertArrayEquals(new long[] {2, 4 * 4 + 1, 32}, image.shape(), "(B, patches + class, D)");
            Tensor ids = Torch.of(new long[] {198, 10, 11, 12, 198, 20, 21, 22}, 2, 4);
            Tensor logits = m.text().logits(ids, image, null);
            assertArrayEquals(new long[] {2, 4, TinyBlip.VOCAB_SIZE}, logits.shape());
            // causal: the first two positions do not depend on the tokens after them
            Tensor other = m.text().logits(Torch.of(new long[] {198, 10, 50, 60, 198, 20, 70, 80}, 2, 4), image, null);
            assertTrue(maxAbsDiff(logits.narrow(1, 0, 2), other.narrow(1, 0, 2)) < 1e-6);
            assertTrue(maxAbsDiff(logits.narrow(1, 2, 2), other.narrow(1, 2, 2)) > 1e-3);
            // the image matters, and each row sees only its own image
            Tensor mirrored = m.imageEmbeds(pixels(2, 3).flip(3));
            assertTrue(maxAbsDiff(logits, m.text().logits(ids, mirrored, null)) > 1e-4);
            Tensor first = m.text().logits(ids.narrow(0, 0, 1), image.narrow(0, 0, 1), null);
            assertTrue(maxAbsDiff(first, logits.narrow(0, 0, 1)) < 1e-5);
        }
    }

    @Test
    void cachedStepsGiveTheSameLogitsAsTheFullSequence() {
        try (BlipForConditionalGeneration m = BlipForConditionalGeneration.random(CFG, 2, Device.CPU, DType.F32);
             Scope s = Scope.open(); var ng = Autograd.noGrad(); BlipTextCache cache = m.text().newCache()) {
            Tensor image = m.imageEmbeds(pixels(2, 4));
            Tensor ids = Torch.of(new long[] {198, 10, 11, 12, 13, 198, 20, 21, 22, 23}, 2, 5);
            Tensor full = m.text().logits(ids, image, null);
            // two tokens, then one, then two more (an offset causal mask): all equal the uncached pass
            Tensor a = m.text().logits(ids.narrow(1, 0, 2), image, cache);
            Tensor b = m.text().logits(ids.narrow(1, 2, 1), image, cache);
            Tensor c = m.text().logits(ids.narrow(1, 3, 2), image, cache);
            assertEquals(5, cache.length());
            Tensor stepped = Torch.cat(List.of(a, b, c), 1);
            double diff = maxAbsDiff(full, stepped);
            assertTrue(diff < 1e-5, "cached logits differ by " + diff);
        }
    }

    @Test
    void greedyWithCacheEqualsUncachedGreedy() {
        try (BlipForConditionalGeneration m = BlipForConditionalGeneration.random(CFG, 3, Device.CPU, DType.F32); Scope s = Scope.open()) {
            Tensor px = pixels(3, 5);
            for (long[] prefix : List.of(new long[0], new long[] {10, 11, 12})) {
                long[][] cached = m.generateGreedy(px, prefix, 20, true);
                long[][] plain = m.generateGreedy(px, prefix, 20, false);
                for (int i = 0; i < 3; i++) {
                    System.out.println("greedy " + Arrays.toString(cached[i]));
                    assertArrayEquals(plain[i], cached[i]);
                    assertEquals(198, cached[i][0], "starts with [DEC]");
                    assertArrayEquals(prefix, Arrays.copyOfRange(cached[i], 1, 1 + prefix.length), "then the prefix");
                    assertTrue(cached[i].length <= 20);
                }
            }
        }
    }

    @Test
    void greedyStopsAtSepAndPadsFinishedRows() {
        try (BlipForConditionalGeneration m = BlipForConditionalGeneration.random(CFG, 3, Device.CPU, DType.F32); Scope s = Scope.open()) {
            long[][] out = m.generateGreedy(pixels(3, 5), new long[0], 40);
            int longest = 0;
            for (long[] row : out) longest = Math.max(longest, row.length);
            for (long[] row : out) {
                assertEquals(longest, row.length, "rows share one length");
                int sep = -1;
                for (int i = 0; i < row.length; i++) if (row[i] == TinyBlip.SEP_ID) { sep = i; break; }
                if (sep >= 0) for (int i = sep + 1; i < row.length; i++) assertEquals(TinyBlip.PAD_ID, row[i], "pad after [SEP]");
            }
        }
    }

    @Test
    void beamSearchRunsAndOneBeamIsGreedy() {
        try (BlipForConditionalGeneration m = BlipForConditionalGeneration.random(CFG, 4, Device.CPU, DType.F32); Scope s = Scope.open()) {
            Tensor px = pixels(2, 6);
            assertArrayEquals(m.generateGreedy(px, new long[0], 15)[1], m.generateBeam(px, new long[0], 15, 1, 1.0)[1]);
            long[][] beams = m.generateBeam(px, new long[] {10}, 15, 3, 1.0);
            assertEquals(2, beams.length);
            for (long[] row : beams) {
                System.out.println("beam " + Arrays.toString(row));
                assertEquals(198, row[0]);
                assertEquals(10, row[1]);
                assertTrue(row.length <= 15 && row.length > 2);
            }
            // each image alone gives the same best sequence as in the batch (up to the batch's padding)
            long[] alone = m.generateBeam(px.narrow(0, 1, 1), new long[] {10}, 15, 3, 1.0)[0];
            assertArrayEquals(alone, Arrays.copyOf(beams[1], alone.length));
        }
    }

    @Test
    void topKOrdersByValueThenIndex() {
        assertArrayEquals(new int[] {1, 3, 0}, BlipBeamSearch.topK(new float[] {0.5f, 2f, -1f, 0.7f, 0.5f}, 3));
    }

    @Test
    void savedFolderLoadsWithTheSameWeightsAndConfig(@TempDir Path dir) throws Exception {
        TinyBlip.writeFolder(dir, 7);
        assertEquals(CFG, BlipConfig.fromHfConfig(dir.resolve("config.json")));
        try (BlipForConditionalGeneration random = BlipForConditionalGeneration.random(CFG, 7, Device.CPU, DType.F32);
             BlipForConditionalGeneration loaded = BlipForConditionalGeneration.load(dir, Device.CPU, DType.F32);
             Scope s = Scope.open(); var ng = Autograd.noGrad()) {
            Tensor px = pixels(1, 8);
            Tensor ids = Torch.of(new long[] {198, 30, 31}, 1, 3);
            assertEquals(0.0, maxAbsDiff(random.logits(px, ids), loaded.logits(px, ids)));
            // the tied decoder weight is not stored twice
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
                assertTrue(f.contains("text_decoder.bert.embeddings.word_embeddings.weight"));
                assertTrue(f.contains("vision_model.encoder.layers.1.self_attn.qkv.weight"));
                assertTrue(f.contains("text_decoder.bert.encoder.layer.1.crossattention.self.key.weight"));
                assertTrue(!f.contains("text_decoder.cls.predictions.decoder.weight"));
            }
        }
    }

    @Test
    void wrongShapeNamesTheTensor(@TempDir Path dir) throws Exception {
        TinyBlip.writeFolder(dir, 7);
        BlipConfig wide = new BlipConfig(CFG.vision(), new BlipConfig.Text(200, 32, 32, 128, 2, 4, 64,
                BlipConfig.Activation.GELU, 1e-12, 198, 3, 0));
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            Weights w = new Weights(new CheckpointWeights(f, "tiny"), Device.CPU, DType.F32);
            var e = assertThrows(WeightShapeException.class, () -> new BlipForConditionalGeneration(w, wide));
            assertTrue(e.getMessage().contains("text_decoder.bert.encoder.layer.0.intermediate.dense.weight"), e.getMessage());
            w.close();
        }
    }

    @Test
    void tokenizerEncodesAndDecodesCaptions(@TempDir Path dir) throws Exception {
        TinyBlip.writeFolder(dir, 7);
        try (BlipTokenizer t = BlipTokenizer.load(dir, CFG.text())) {
            List<String> vocab = TinyBlip.vocabulary();
            long[] ids = t.encode("A Picture of");
            assertArrayEquals(new long[] {vocab.indexOf("a"), vocab.indexOf("picture"), vocab.indexOf("of")}, ids);
            long dog = vocab.indexOf("dog"), on = vocab.indexOf("on"), grass = vocab.indexOf("grass");
            long[] generated = {198, ids[0], ids[1], ids[2], vocab.indexOf("a"), dog, on, grass, 3, 0, 0};
            assertEquals("a dog on grass", t.decodeCaption(generated, 4));
            assertEquals("a picture of a dog on grass", t.decodeCaption(generated, 0));
            assertEquals("", t.decodeCaption(new long[] {198, 3, 0}, 1));
            // words outside the vocabulary split into WordPiece pieces and come back whole
            assertEquals("zebra", t.decodeCaption(t.encode("zebra"), 0));
        }
    }
}
