package org.lorascripts.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;

class LossCurveCheckTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode curve(String curve, String mode, double... losses) {
        ObjectNode o = JSON.createObjectNode().put("curve", curve).put("mode", mode).put("device", "test");
        var a = o.putArray("losses");
        for (double l : losses) a.add(l);
        return o;
    }

    private static Map<String, ObjectNode> byMode(List<ObjectNode> lines) {
        return lines.stream().collect(Collectors.toMap(n -> n.get("mode").asText(), n -> n));
    }

    @Test
    void aModeWithinTheFp32NoiseIsOkAndOneOutsideItIsNot() {
        List<JsonNode> runs = List.of(
                curve("c", "plain", 2.0, 1.5, 1.0),
                curve("c", "fp32", 2.02, 1.5, 0.99),      // 1 %, 0, 1 %: mean 2/3 %
                curve("c", "fused", 2.0, 1.506, 1.0),     // mean 0.133 %
                curve("c", "graphed", 2.0, 1.5, 1.05),    // mean 1.67 %: more than twice the noise
                curve("c", "near", 2.0, 1.5, 1.012));     // mean 0.4 %: above the noise, within twice it
        Map<String, ObjectNode> v = byMode(LossCurveCheck.compare(runs, List.of()));
        assertEquals(0.02 / 3, v.get("fused").get("noise_mean").asDouble(), 1e-5);
        assertEquals(0.01, v.get("fused").get("noise_max").asDouble(), 1e-6);
        assertEquals(0.004 / 3, v.get("fused").get("vs_plain_mean").asDouble(), 1e-6);
        assertTrue(v.get("fused").get("ok").asBoolean());
        assertTrue(v.get("near").get("ok").asBoolean());
        assertFalse(v.get("graphed").get("ok").asBoolean());
        assertEquals(0.05, v.get("graphed").get("vs_plain_max").asDouble(), 1e-6);
        assertTrue(v.get("plain").get("ok").asBoolean());
        assertEquals(1.0, v.get("plain").get("last_loss").asDouble());
    }

    @Test
    void aBaselineCurveFartherThanTheNoiseFailsAndANanNeverPasses() {
        List<JsonNode> runs = List.of(curve("c", "plain", 2.0, 1.0), curve("c", "fp32", 2.02, 1.01), curve("c", "fused", 2.0, Double.NaN));
        List<JsonNode> base = List.of(curve("c", "plain", 2.2, 1.1));
        Map<String, ObjectNode> v = byMode(LossCurveCheck.compare(runs, base));
        assertFalse(v.get("plain").get("ok").asBoolean(), "10 % from the baseline against 1 % noise");
        assertEquals("test", v.get("plain").get("baseline_device").asText());
        assertFalse(v.get("fused").get("ok").asBoolean(), "a NaN loss");
        List<JsonNode> near = List.of(curve("c", "plain", 2.01, 1.0));
        assertTrue(byMode(LossCurveCheck.compare(runs, near)).get("plain").get("ok").asBoolean());
    }

    @Test
    void withoutAnFp32CurveThereIsNoVerdict() {
        var v = byMode(LossCurveCheck.compare(List.of(curve("c", "plain", 1.0), curve("c", "fused", 3.0)), List.of()));
        assertFalse(v.get("fused").has("ok"));
        assertThrows(IllegalArgumentException.class, () -> LossCurveCheck.deviation(curve("c", "a"), curve("c", "b")));
    }

    @Test
    void theFloat32WeightsAreTheSixteenBitOnes() {
        var w = new LossCurveCheck.Rounded(new RandomWeights(3), DType.BF16);
        try (Scope s = Scope.open()) {
            Tensor h = w.load("model.layers.0.mlp.up_proj.weight", new long[] {8, 16}, Device.CPU, DType.BF16);
            Tensor f = w.load("model.layers.0.mlp.up_proj.weight", new long[] {8, 16}, Device.CPU, DType.F32);
            assertEquals(DType.F32, f.dtype());
            assertEquals(0.0, f.sub(h.to(DType.F32)).abs().amax().item(), 0.0);
            Tensor raw = new RandomWeights(3).load("model.layers.0.mlp.up_proj.weight", new long[] {8, 16}, Device.CPU, DType.F32);
            assertTrue(raw.sub(f).abs().amax().item() > 0, "the raw float32 draw differs from its bf16 rounding");
        }
    }

    @Test
    void theTinyLlmCurveLearnsIsRepeatableAndItsFp32NoiseIsSmallButNotZero() {
        List<JsonNode> runs = new ArrayList<>();
        for (String mode : List.of("plain", "plain", "fp32")) runs.add(LossCurveCheck.run("tiny-llm", mode, 6, Device.CPU));
        JsonNode a = runs.get(0).get("losses");
        assertEquals(6, a.size());
        assertTrue(a.get(5).asDouble() < a.get(0).asDouble() - 0.05, "the LoRA learns the sequence: " + a);
        assertEquals(a, runs.get(1).get("losses"), "the same seed gives the same curve");
        LossCurveCheck.Deviation noise = LossCurveCheck.deviation(runs.get(2), runs.get(0));
        assertTrue(noise.max() > 0 && noise.max() < 1e-3, "bf16 against fp32: " + noise);
        assertNotEquals(runs.get(0).get("losses"), runs.get(2).get("losses"));
        assertThrows(IllegalArgumentException.class, () -> LossCurveCheck.run("tiny-llm", "graphed", 2, Device.CPU));
        assertThrows(IllegalArgumentException.class, () -> LossCurveCheck.run("nope", "plain", 2, Device.CPU));
    }

    @Test
    void theTinySdCurveRunsWithItsOwnNoisePerStep() {
        JsonNode a = LossCurveCheck.run("tiny-sd", "plain", 3, Device.CPU).get("losses");
        JsonNode b = LossCurveCheck.run("tiny-sd", "fp32", 3, Device.CPU).get("losses");
        assertEquals(3, a.size());
        for (int i = 0; i < 3; i++) assertEquals(a.get(i).asDouble(), b.get(i).asDouble(), 0.01 * a.get(i).asDouble());
        assertNotEquals(a.get(0).asDouble(), a.get(1).asDouble(), "each step has its own noise and timesteps");
        double[] ab = LossCurveCheck.scaledLinearAlphaBar(1000);
        assertEquals(0.99915, ab[0], 1e-9);
        assertEquals(0.0047, ab[999], 2e-4);   // SD1.x's alphas_cumprod[-1] = 0.00466
    }
}
