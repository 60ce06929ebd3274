package org.lorascripts.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.io.Json;
import org.lorascripts.models.llm.LlmConfig;
import org.lorascripts.tensor.Device;

class LlmQloraBenchmarkTest {

    @Test void lineThroughTwoLayerCountsExtrapolatesAndCountsWhatFits() {
        // 2 layers: 5.0 GiB, 4 layers: 6.0 GiB -> 0.5 GiB a layer on top of 4.0
        var fit = LlmQloraBenchmark.LinearFit.through(2, 5.0, 4, 6.0);
        assertEquals(0.5, fit.perLayer(), 1e-12);
        assertEquals(4.0, fit.fixed(), 1e-12);
        assertEquals(44.0, fit.at(80), 1e-12);
        assertEquals(40, fit.maxLayersWithin(24), "exactly on the budget still fits");
        assertEquals(39, fit.maxLayersWithin(23.99));
        assertEquals(0, fit.maxLayersWithin(3), "the fixed part alone is over the budget");
        // order of the two measurements does not matter
        var swapped = LlmQloraBenchmark.LinearFit.through(4, 6.0, 2, 5.0);
        assertEquals(fit.perLayer(), swapped.perLayer(), 1e-12);
        assertEquals(fit.fixed(), swapped.fixed(), 1e-12);
        // 3 and 7 layers, uneven numbers: (9.1 - 6.3) / 4 = 0.7 a layer, 6.3 - 2.1 = 4.2 fixed
        var odd = LlmQloraBenchmark.LinearFit.through(3, 6.3, 7, 9.1);
        assertEquals(0.7, odd.perLayer(), 1e-12);
        assertEquals(4.2, odd.fixed(), 1e-12);
        assertEquals(60.2, odd.at(80), 1e-9);
        assertEquals(28, odd.maxLayersWithin(24));   // 4.2 + 28 * 0.7 = 23.8, 29 layers = 24.5
    }

    @Test void unknownOrShrinkingMemoryFitsNoLayerCount() {
        assertEquals(-1, LlmQloraBenchmark.LinearFit.through(2, Double.NaN, 4, Double.NaN).maxLayersWithin(24));
        assertEquals(-1, LlmQloraBenchmark.LinearFit.through(2, 5, 4, 5).maxLayersWithin(24));
        assertEquals(-1, LlmQloraBenchmark.LinearFit.through(2, 6, 4, 5).maxLayersWithin(24));
        assertThrows(IllegalArgumentException.class, () -> LlmQloraBenchmark.LinearFit.through(2, 5, 2, 6));
    }

    @Test void extrapolationLineCarriesTheFitAndTheTarget() throws Exception {
        var a = new LlmQloraBenchmark.Measured(4.73, 6.10, 1, 11.7);
        var b = new LlmQloraBenchmark.Measured(5.55, 7.00, 1, 11.7);
        JsonNode o = Json.parse(LlmQloraBenchmark.extrapolationJson("llama3-70b", 2, a, 4, b, 2048, 24));
        assertEquals(0.41, o.get("per_layer_weights_gib").doubleValue(), 1e-9);
        assertEquals(0.45, o.get("per_layer_peak_gib").doubleValue(), 1e-9);
        assertEquals(3.91, o.get("fixed_weights_gib").doubleValue(), 1e-9);
        assertEquals(5.20, o.get("fixed_gib").doubleValue(), 1e-9);
        assertEquals(36.71, o.get("extrapolated_weights_gib_80").doubleValue(), 1e-9);   // 3.91 + 80 * 0.41
        assertEquals(41.20, o.get("extrapolated_peak_gib_80").doubleValue(), 1e-9);      // 5.2 + 80 * 0.45
        assertTrue(o.get("peak_80_within_48gb").booleanValue(), "41.2 GiB = 44.2 GB");
        assertEquals(41, o.get("layers_within_budget").intValue());                      // (24 - 5.2) / 0.45 = 41.8
        assertEquals("nf4", o.get("quant").textValue());
        // 4.35 + 80 * 0.525 = 46.35 GiB = 49.8 GB: over the target (while 5.4 / 6.4 GiB would give 44.4 GiB = 47.7 GB, within)
        var c = new LlmQloraBenchmark.Measured(4.73, 5.40, 1, 11.7);
        var d = new LlmQloraBenchmark.Measured(5.55, 6.45, 1, 11.7);
        assertFalse(Json.parse(LlmQloraBenchmark.extrapolationJson("llama3-70b", 2, c, 4, d, 2048, 24))
                .get("peak_80_within_48gb").booleanValue());
        var e = new LlmQloraBenchmark.Measured(5.55, 6.40, 1, 11.7);
        assertTrue(Json.parse(LlmQloraBenchmark.extrapolationJson("llama3-70b", 2, c, 4, e, 2048, 24))
                .get("peak_80_within_48gb").booleanValue());
    }

    @Test void aFailedConfigurationIsOneJsonLine() throws Exception {
        String line = LlmQloraBenchmark.errorJson("llama3-8b", "nf4", true,
                new IllegalStateException("CUDA out of memory.\n\tTried to allocate 2.00 GiB \"x\" C:\\y"));
        assertFalse(line.contains("\n"));
        JsonNode o = Json.parse(line);
        assertEquals("IllegalStateException: CUDA out of memory.\n\tTried to allocate 2.00 GiB \"x\" C:\\y", o.get("error").textValue());
        assertEquals("nf4", o.get("quant").textValue());
        assertTrue(o.get("grad_ckpt").booleanValue());
    }

    /** Meta's published parameter count of Llama-3-70B (70,553,706,496) follows from the shape with 80 layers. */
    @Test void seventyBShapeHasTheParametersOfLlama3_70b() {
        LlmConfig c = LlmQloraBenchmark.shape70b(80);
        long h = c.hiddenSize(), kv = c.numKvHeads() * c.headDim();
        long perLayer = 2 * h * h + 2 * h * kv + 3 * h * c.intermediateSize() + 2 * h;   // q,o; k,v; gate,up,down; two norms
        long total = c.numLayers() * perLayer + 2 * c.vocabSize() * h + h;           // + embeddings, untied lm_head, final norm
        assertEquals(70_553_706_496L, total);
        assertEquals(128, c.headDim());
        assertEquals(2, LlmQloraBenchmark.shape70b(2).numLayers());
    }

    @Test void optionsDefaultAndReject() {
        var o = LlmQloraBenchmark.Options.parse();
        assertEquals(8, o.steps());
        assertEquals(3, o.warmup());
        assertEquals(List.of("8b", "70b"), List.copyOf(o.parts()));
        assertEquals(List.of("nf4", "fp8", "bf16"), o.quants());
        assertEquals(List.of(false, true), o.ckpts());
        assertEquals(2048, o.seq());
        assertTrue(o.device().isCuda());
        var p = LlmQloraBenchmark.Options.parse("steps=2", "warmup=0", "parts=70b", "quant=nf4", "ckpt=on", "device=cpu", "layers=1,3");
        assertEquals(2, p.steps());
        assertEquals(0, p.warmup());
        assertEquals(List.of("70b"), List.copyOf(p.parts()));
        assertEquals(List.of(true), p.ckpts());
        assertEquals(Device.CPU, p.device());
        assertEquals(3, p.layers()[1]);
        for (String bad : new String[] {"steps=0", "steps=x", "parts=13b", "quant=int8", "ckpt=maybe", "layers=2,2", "layers=2",
                "stepz=3", "8", "device=tpu", "tiny=yes", "budget_gib=lots"}) {
            var e = assertThrows(IllegalArgumentException.class, () -> LlmQloraBenchmark.Options.parse(bad), bad);
            String key = bad.contains("=") ? bad.substring(0, bad.indexOf('=')) : bad;
            assertTrue(e.getMessage().contains(key), bad + " -> " + e.getMessage());
        }
    }

    /** The fp8 base on small shapes on the CPU (libtorch 2.1+): one line per checkpointing setting, its loss near ln 512. */
    @Test void tinyFp8RunOnCpuPrintsItsLines() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(org.lorascripts.tensor.DType.F8E4M3.available(), "libtorch without float8");
        var buf = new ByteArrayOutputStream();
        var o = LlmQloraBenchmark.Options.parse("device=cpu", "tiny=true", "seq=16", "steps=1", "warmup=1", "quant=fp8", "parts=8b");
        LlmQloraBenchmark.run(o, new PrintStream(buf, true, StandardCharsets.UTF_8));
        List<JsonNode> lines = new ArrayList<>();
        for (String l : buf.toString(StandardCharsets.UTF_8).split("\n")) if (!l.isBlank()) lines.add(Json.parse(l));
        assertEquals(2, lines.size(), buf.toString(StandardCharsets.UTF_8));
        for (JsonNode l : lines) {
            assertEquals("fp8", l.get("quant").textValue());
            assertEquals(Math.log(512), l.get("loss").doubleValue(), 0.3, l.toString());
        }
    }

    /** Every code path of the benchmark on small shapes on the CPU: the lines it prints and their losses. */
    @Test void tinyRunOnCpuPrintsEveryConfigurationAndTheExtrapolation() throws Exception {
        var buf = new ByteArrayOutputStream();
        var o = LlmQloraBenchmark.Options.parse("device=cpu", "tiny=true", "seq=16", "steps=1", "warmup=1", "quant=nf4,bf16");
        LlmQloraBenchmark.run(o, new PrintStream(buf, true, StandardCharsets.UTF_8));
        List<JsonNode> lines = new ArrayList<>();
        for (String l : buf.toString(StandardCharsets.UTF_8).split("\n")) if (!l.isBlank()) lines.add(Json.parse(l));
        assertEquals(5, lines.size(), buf.toString(StandardCharsets.UTF_8));
        String[] quant = {"nf4", "nf4", "bf16", "bf16"};
        boolean[] ckpt = {false, true, false, true};
        for (int i = 0; i < 4; i++) {
            JsonNode l = lines.get(i);
            assertEquals("java", l.get("impl").textValue());
            assertEquals(quant[i], l.get("quant").textValue());
            assertEquals(ckpt[i], l.get("grad_ckpt").booleanValue());
            assertFalse(l.get("cuda_graph").booleanValue());
            assertTrue(l.get("tok_s").doubleValue() > 0);
            assertTrue(l.get("peak_gib").isNull() && l.get("weights_gib").isNull(), "no CUDA statistics on the CPU");
            // random weights of std 0.02: nearly uniform next-token distribution over 512 tokens, loss about ln 512
            assertEquals(Math.log(512), l.get("loss").doubleValue(), 0.3, l.toString());
        }
        JsonNode x = lines.get(4);
        assertEquals(2, x.get("extrapolated_from_layers").get(0).intValue());
        assertEquals(4, x.get("extrapolated_from_layers").get(1).intValue());
        assertTrue(x.get("extrapolated_peak_gib_80").isNull());
        assertEquals(-1, x.get("layers_within_budget").intValue());
    }
}
