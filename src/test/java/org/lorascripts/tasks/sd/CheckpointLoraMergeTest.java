package org.lorascripts.tasks.sd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.BaseModel;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LowRank;
import org.lorascripts.models.sd.SdPipeline;
import org.lorascripts.models.sd.load.TinySdBuiltin;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * {@code ./lora merge} with kohya LoRAs: into the built-in tiny checkpoints (merged weight = W + Σ w_i·delta_i,
 * stored dtype kept, untouched tensors byte-equal, the result loads), and into one LoRA (concatenation is exact;
 * SVD to rank R leaves exactly the discarded singular values as error).
 */
class CheckpointLoraMergeTest {
    @TempDir Path dir;

    static final String Q = "lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q";
    static final String Q_KEY = "model.diffusion_model.input_blocks.3.1.transformer_blocks.0.attn1.to_q.weight";
    static final String CONV = "lora_unet_down_blocks_0_resnets_0_conv1";
    static final String CONV_KEY = "model.diffusion_model.input_blocks.1.0.in_layers.2.weight";
    static final String FC1 = "lora_te_text_model_encoder_layers_0_mlp_fc1";
    static final String FC1_KEY = "cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight";

    /** A random kohya module of rank r: down (r, in...), up (out, r[, 1, 1]), alpha. */
    static KohyaLoraReader.Module random(String name, long out, long[] downShape, double alpha, double size) {
        int r = (int) downShape[0];
        Tensor down = Torch.randn(downShape).mul(size).keep();
        Tensor up = (downShape.length == 4 ? Torch.randn(out, r, 1, 1) : Torch.randn(out, r)).mul(size).keep();
        return new KohyaLoraReader.Module(name, down, up, alpha, true);
    }

    /** scale · up · down in the module weight's shape. */
    static Tensor delta(KohyaLoraReader.Module m, long[] shape) {
        return m.up().reshape(m.up().size(0), m.rank()).mm(m.down().reshape(m.rank(), -1)).mul(m.scale()).reshape(shape);
    }

    @Test
    void twoLorasIntoTheTinySdCheckpoint() throws Exception {
        Rng.manualSeed(21);
        try (Scope s = Scope.open()) {
            var aq = random(Q, 96, new long[] {4, 96}, 2, 0.3);
            var aconv = random(CONV, 64, new long[] {4, 64, 3, 3}, 4, 0.1);
            var afc1 = random(FC1, 256, new long[] {4, 64}, 4, 0.3);
            var bq = random(Q, 96, new long[] {8, 96}, 8, 0.2);
            Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors"), merged = dir.resolve("merged.safetensors");
            KohyaLoraWriter.writeModules(a, List.of(aq, aconv, afc1), DType.F16, Map.of());
            KohyaLoraWriter.writeModules(b, List.of(bq), DType.F32, Map.of());
            StringWriter out = new StringWriter();
            assertEquals(0, LoraExtractionTest.cli(out, "merge", "--base", "builtin:tiny-sd", "--lora", a + ":0.8", "--lora", b + ":-0.5",
                    "-o", merged.toString()), out.toString());
            assertTrue(out.toString().contains("3 tensors changed"), out.toString());
            Path base = TinySdBuiltin.SD.ensureCached();
            try (SafetensorsFile fb = SafetensorsFile.open(base); SafetensorsFile fm = SafetensorsFile.open(merged);
                 KohyaLoraReader.LoraFile la = KohyaLoraReader.read(a); KohyaLoraReader.LoraFile lb = KohyaLoraReader.read(b)) {
                assertEquals(fb.names(), fm.names());
                assertEquals(fb.metadata(), fm.metadata());
                // W + 0.8 delta_a + (-0.5) delta_b, from the LoRA files as stored (a is fp16)
                assertMerged(fb, fm, Q_KEY, delta(la.modules().get(Q), new long[] {96, 96}).mul(0.8)
                        .add(delta(lb.modules().get(Q), new long[] {96, 96}).mul(-0.5)));
                assertMerged(fb, fm, CONV_KEY, delta(la.modules().get(CONV), new long[] {64, 64, 3, 3}).mul(0.8));
                assertMerged(fb, fm, FC1_KEY, delta(la.modules().get(FC1), new long[] {256, 64}).mul(0.8));
                String untouched = "model.diffusion_model.input_blocks.3.1.transformer_blocks.0.attn1.to_k.weight";
                assertArrayEquals(fb.data(untouched).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                        fm.data(untouched).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
            }
            try (SdPipeline p = SdPipeline.open(new BaseModel.Local(merged), null, Device.CPU, DType.F32)) {
                assertEquals(org.lorascripts.models.sd.SdFamily.SD1, p.family());
            }
            // --ratio gives the same weights in a list
            Path viaRatio = dir.resolve("ratio.safetensors");
            assertEquals(0, LoraExtractionTest.cli(new StringWriter(), "merge", "--base", "builtin:tiny-sd", "--lora", a.toString(), "--lora",
                    b.toString(), "--ratio", "0.8,-0.5", "-o", viaRatio.toString()));
            assertArrayEquals(Files.readAllBytes(merged), Files.readAllBytes(viaRatio));
        }
    }

    @Test
    void sdxlOpenClipRowsAndRefusals() throws Exception {
        Rng.manualSeed(22);
        try (Scope s = Scope.open()) {
            var k = random("lora_te2_text_model_encoder_layers_0_self_attn_k_proj", 64, new long[] {2, 64}, 2, 0.3);
            Path a = dir.resolve("a.safetensors"), merged = dir.resolve("merged.safetensors");
            KohyaLoraWriter.writeModules(a, List.of(k), DType.F32, Map.of());
            assertEquals(0, LoraExtractionTest.cli(new StringWriter(), "merge", "--base", "builtin:tiny-sdxl", "--lora", a.toString(), "-o", merged.toString()));
            String key = "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight";
            try (SafetensorsFile fb = SafetensorsFile.open(TinySdBuiltin.SDXL.ensureCached()); SafetensorsFile fm = SafetensorsFile.open(merged)) {
                Tensor wb = TensorIO.read(fb, key, Device.CPU, DType.F32), wm = TensorIO.read(fm, key, Device.CPU, DType.F32);
                Tensor diff = wm.sub(wb);
                assertEquals(0, diff.narrow(0, 0, 64).abs().amax().item(), "q rows untouched");
                assertEquals(0, diff.narrow(0, 128, 64).abs().amax().item(), "v rows untouched");
                assertTrue(diff.narrow(0, 64, 64).sub(delta(k, new long[] {64, 64})).abs().amax().item() < 2e-3, "k rows = W + delta");
            }
            // a LoRA of the other family: one error line, nothing written
            Path wrong = dir.resolve("wrong.safetensors");
            StringWriter err = new StringWriter();
            assertEquals(2, LoraExtractionTest.cli(err, "merge", "--base", "builtin:tiny-sd", "--lora", a.toString(), "-o", wrong.toString()));
            assertTrue(err.toString().startsWith("error: ") && err.toString().contains("match no weight"), err.toString());
            assertFalse(Files.exists(wrong));
            StringWriter err2 = new StringWriter();
            assertEquals(2, LoraExtractionTest.cli(err2, "merge", "--base", "builtin:tiny-sd", "--lora", a + ":0.5", "--ratio", "1", "-o", wrong.toString()));
            assertTrue(err2.toString().contains("use one of them"), err2.toString());
        }
    }

    @Test
    void lorasIntoOneLora() throws Exception {
        Rng.manualSeed(23);
        try (Scope s = Scope.open()) {
            var aq = random(Q, 96, new long[] {4, 96}, 2, 0.3);
            var aconv = random(CONV, 64, new long[] {4, 64, 3, 3}, 4, 0.1);
            var bq = random(Q, 96, new long[] {3, 96}, 3, 0.2);
            Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
            KohyaLoraWriter.writeModules(a, List.of(aq, aconv), DType.F32, Map.of("ss_base_model_version", "sd_v1"));
            KohyaLoraWriter.writeModules(b, List.of(bq), DType.F32, Map.of());
            Tensor wantQ = delta(aq, new long[] {96, 96}).mul(0.7).add(delta(bq, new long[] {96, 96}).mul(0.4));
            Tensor wantConv = delta(aconv, new long[] {64, 576}).mul(0.7);

            Path concat = dir.resolve("concat.safetensors");
            assertEquals(0, LoraExtractionTest.cli(new StringWriter(), "merge", "--lora", a.toString(), "--lora", b.toString(), "--ratio", "0.7,0.4",
                    "-o", concat.toString()));
            try (KohyaLoraReader.LoraFile f = KohyaLoraReader.read(concat)) {
                assertEquals(7, f.modules().get(Q).rank());
                assertTrue(delta(f.modules().get(Q), new long[] {96, 96}).sub(wantQ).abs().amax().item() < 1e-5);
                assertTrue(delta(f.modules().get(CONV), new long[] {64, 576}).sub(wantConv).abs().amax().item() < 1e-5);
                assertEquals("sd_v1", f.metadata().get("ss_base_model_version"));
                assertEquals("Dynamic", f.metadata().get("ss_network_dim"));
            }

            Path svd = dir.resolve("svd.safetensors");
            assertEquals(0, LoraExtractionTest.cli(new StringWriter(), "merge", "--lora", a + ":0.7", "--lora", b + ":0.4", "--rank", "5",
                    "--conv-rank", "2", "--clamp-quantile", "1", "-o", svd.toString()));
            try (KohyaLoraReader.LoraFile f = KohyaLoraReader.read(svd)) {
                assertEquals(5, f.modules().get(Q).rank());
                assertEquals(2, f.modules().get(CONV).rank());
                assertEquals("5.0", f.metadata().get("ss_network_alpha").equals("Dynamic") ? "5.0" : f.metadata().get("ss_network_alpha"));
                // Eckart-Young: the error of the best rank-R approximation is the norm of the discarded singular values
                double[] sq = wantQ.svd().s().toDoubleArray(), sc = wantConv.svd().s().toDoubleArray();
                assertEquals(LowRank.discardedFro(sq, 5), delta(f.modules().get(Q), new long[] {96, 96}).sub(wantQ).norm().item(), 1e-4);
                assertEquals(LowRank.discardedFro(sc, 2), delta(f.modules().get(CONV), new long[] {64, 576}).sub(wantConv).norm().item(), 1e-4);
                assertTrue(LowRank.discardedFro(sq, 5) > 0.01, "the test discards something");
            }
        }
    }

    private static void assertMerged(SafetensorsFile fb, SafetensorsFile fm, String key, Tensor delta) throws Exception {
        assertEquals(fb.info(key).dtype(), fm.info(key).dtype(), key + " keeps its dtype");
        Tensor wb = TensorIO.read(fb, key, Device.CPU, DType.F32), wm = TensorIO.read(fm, key, Device.CPU, DType.F32);
        Tensor expected = wb.add(delta);
        double tol = 1e-3 * expected.abs().amax().item();   // fp16 rounding of the stored result
        double diff = wm.sub(expected).abs().amax().item();
        assertTrue(diff <= tol, key + ": max |merged - (W + delta)| = " + diff + " > " + tol);
        assertTrue(delta.abs().amax().item() > 20 * tol, key + ": the delta is well above the rounding");
    }
}
