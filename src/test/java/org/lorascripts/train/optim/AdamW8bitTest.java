package org.lorascripts.train.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lorascripts.io.SafetensorsFile;
import org.lorascripts.io.TensorIO;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * AdamW8bit against bitsandbytes' blockwise 8-bit AdamW as written out in plain torch by
 * {@code tools/optim_reference.py --adamw8bit} (fixtures/adamw8bit-reference.safetensors): the two
 * dynamic maps, then three steps over w (60x75, 18 blocks, the last one partial) and c (64x64, exactly
 * min_8bit_size, a gradient only in step 1) with 8-bit states and s (300, below min_8bit_size) with
 * 32-bit ones: parameters, uint8 codes and absmax after steps 1 and 3.
 */
class AdamW8bitTest {
    private static final String[] NAMES = {"w", "c", "s"};
    private static final long[][] SHAPES = {{60, 75}, {64, 64}, {300}};
    private static final int[] SEEDS = {1, 2, 3};
    private static final double[] LRS = {0.1, 0.05, 0.02};
    private static final Map<String, float[]> REF_F = new HashMap<>();
    private static final Map<String, byte[]> REF_U8 = new HashMap<>();

    @BeforeAll static void readReference() throws Exception {
        Path f = Path.of(AdamW8bitTest.class.getResource("/fixtures/adamw8bit-reference.safetensors").toURI());
        try (SafetensorsFile src = SafetensorsFile.open(f); Scope s = Scope.open()) {
            for (String n : src.names()) {
                Tensor t = TensorIO.read(src, n);
                if (t.dtype() == DType.U8) REF_U8.put(n, t.toByteArray());
                else REF_F.put(n, t.toFloatArray());
            }
        }
    }

    private static int numel(int k) {
        long n = 1;
        for (long d : SHAPES[k]) n *= d;
        return (int) n;
    }

    private static float[] init(int k) {
        float[] r = new float[numel(k)];
        for (int i = 0; i < r.length; i++) r[i] = (float) (0.5 * Math.cos(1.1 * i + SEEDS[k]));
        return r;
    }

    /** Each block of 256 its own scale (1 .. 1e-3), so the absmax differ per block. */
    private static float[] grad(int k, int t) {
        float[] r = new float[numel(k)];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) (Math.sin(0.7 * i + 1.3 * t + SEEDS[k]) * Math.pow(10.0, -((i / 256) % 4)) * (1 + 0.5 * Math.cos(0.01 * i * t)));
        }
        return r;
    }

    private static List<NamedParam> params() { return params(Device.CPU); }

    private static List<NamedParam> params(Device d) {
        List<NamedParam> r = new ArrayList<>();
        for (int k = 0; k < 3; k++) r.add(new NamedParam(NAMES[k], Torch.of(init(k), SHAPES[k]).to(d).requiresGrad_(true)));
        return r;
    }

    private static AdamW8bit make(List<NamedParam> ps) { return new AdamW8bit(ps, 0.9, 0.99, 1e-6, 0.05); }

    private static void step(Optimizer opt, int t) {
        opt.zeroGrad();
        try (Scope s = Scope.open()) {
            for (int k = 0; k < 3; k++) {
                if (k == 1 && t != 1) continue;
                Tensor p = opt.params().get(k).tensor();
                p.setGrad(Torch.of(grad(k, t), p.shape()).to(p.device()));
            }
        }
        opt.step(LRS[t - 1]);
    }

    private static void assertClose(float[] expected, float[] actual, double abs, double rel, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], abs + rel * Math.abs(expected[i]), what + "[" + i + "]");
        }
    }

    /** Codes must match; the float32 arithmetic of two torch builds may put a value on the other side of a midpoint now and then. */
    private static void assertCodes(byte[] expected, byte[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        int differ = 0;
        for (int i = 0; i < expected.length; i++) {
            int e = expected[i] & 0xff;
            int a = actual[i] & 0xff;
            if (e != a) {
                differ++;
                assertEquals(e, a, 1, what + "[" + i + "] off by more than one code");
            }
        }
        assertTrue(differ <= 2, what + ": " + differ + " of " + expected.length + " codes differ");
    }

    private void checkAgainstReference(Map<String, Tensor> sd, List<NamedParam> ps, int t) {
        for (int k = 0; k < 3; k++) {
            String n = NAMES[k];
            String pre = "step" + t + "." + n;
            assertClose(REF_F.get(pre), ps.get(k).tensor().to(Device.CPU).toFloatArray(), 2e-6, 0, pre);
            if (k < 2) {
                assertEquals(DType.U8, sd.get(n + ".state1").dtype());
                assertCodes(REF_U8.get(pre + ".state1"), sd.get(n + ".state1").to(Device.CPU).toByteArray(), pre + ".state1");
                assertCodes(REF_U8.get(pre + ".state2"), sd.get(n + ".state2").to(Device.CPU).toByteArray(), pre + ".state2");
                assertClose(REF_F.get(pre + ".absmax1"), sd.get(n + ".absmax1").to(Device.CPU).toFloatArray(), 0, 1e-5, pre + ".absmax1");
                assertClose(REF_F.get(pre + ".absmax2"), sd.get(n + ".absmax2").to(Device.CPU).toFloatArray(), 0, 1e-5, pre + ".absmax2");
            } else {
                assertEquals(DType.F32, sd.get(n + ".state1").dtype());
                assertFalse(sd.containsKey(n + ".absmax1"), "32-bit states have no absmax");
                assertClose(REF_F.get(pre + ".state1"), sd.get(n + ".state1").to(Device.CPU).toFloatArray(), 1e-7, 1e-5, pre + ".state1");
                assertClose(REF_F.get(pre + ".state2"), sd.get(n + ".state2").to(Device.CPU).toFloatArray(), 1e-9, 1e-5, pre + ".state2");
            }
        }
    }

    /**
     * Up to a few ulps: torch.linspace's vectorised CPU kernel (which the reference's map goes through)
     * rounds some values differently per torch build and vector width; ours uses its scalar formula.
     */
    @Test void dynamicMapsAreBitsandbytes() {
        for (int sign = 0; sign < 2; sign++) {
            float[] expected = REF_F.get(sign == 0 ? "qmap1" : "qmap2");
            float[] actual = AdamW8bit.dynamicMap(sign == 0);
            assertEquals(256, actual.length);
            for (int i = 0; i < 256; i++) assertEquals(expected[i], actual[i], 4 * Math.ulp(expected[i]), "map " + sign + " [" + i + "]");
            for (int i = 1; i < 256; i++) assertTrue(actual[i] > actual[i - 1], "strictly increasing at " + i);
        }
        float[] signed = AdamW8bit.dynamicMap(true);
        assertEquals(1f, signed[255]);
        assertEquals(0f, signed[127]);
        assertEquals(0f, AdamW8bit.dynamicMap(false)[0]);
    }

    @Test void threeStepsMatchTheReference() {
        try (Scope s = Scope.open()) {
            List<NamedParam> ps = params();
            try (AdamW8bit opt = make(ps)) {
                step(opt, 1);
                checkAgainstReference(opt.stateDict(), ps, 1);
                step(opt, 2);
                step(opt, 3);
                Map<String, Tensor> sd = opt.stateDict();
                checkAgainstReference(sd, ps, 3);
                assertEquals(3.0, sd.get("w.step").item());
                assertEquals(1.0, sd.get("c.step").item(), "steps without a gradient do not advance");
                assertArrayEquals(new long[] {18}, sd.get("w.absmax1").shape());
                assertArrayEquals(new long[] {60, 75}, sd.get("w.state1").shape());
            }
        }
    }

    /** The same ops on CUDA tensors, with a resume (state through the host) before the last step. */
    @Test void onCudaMatchesTheReference() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        Device gpu = Device.cuda(0);
        try (Scope s = Scope.open()) {
            List<NamedParam> ps = params(gpu);
            AdamW8bit opt = make(ps);
            try {
                step(opt, 1);
                checkAgainstReference(opt.stateDict(), ps, 1);
                step(opt, 2);
                Map<String, Tensor> saved = new LinkedHashMap<>();
                for (var e : opt.stateDict().entrySet()) saved.put(e.getKey(), e.getValue().to(Device.CPU));
                opt.close();
                opt = make(ps);
                opt.loadStateDict(saved);
                step(opt, 3);
                assertEquals(gpu, opt.stateDict().get("w.state1").device());
                checkAgainstReference(opt.stateDict(), ps, 3);
            } finally {
                opt.close();
            }
        }
    }

    @Test void resumingMidRunEqualsTheUninterruptedRun() {
        try (Scope s = Scope.open()) {
            List<NamedParam> a = params();
            List<NamedParam> b = params();
            try (AdamW8bit first = make(a); AdamW8bit second = make(b)) {
                step(first, 1);
                step(first, 2);
                Map<String, Tensor> saved = new LinkedHashMap<>(first.stateDict());
                for (int k = 0; k < 3; k++) b.get(k).tensor().detach().copy_(a.get(k).tensor().detach());
                second.loadStateDict(saved);
                step(first, 3);
                step(second, 3);
                Map<String, Tensor> x = first.stateDict();
                Map<String, Tensor> y = second.stateDict();
                assertEquals(x.keySet(), y.keySet());
                for (int k = 0; k < 3; k++) assertArrayEquals(a.get(k).tensor().toFloatArray(), b.get(k).tensor().toFloatArray(), "resumed " + NAMES[k]);
                for (String key : x.keySet()) {
                    if (x.get(key).dtype() == DType.U8) assertArrayEquals(x.get(key).toByteArray(), y.get(key).toByteArray(), key);
                    else assertArrayEquals(x.get(key).toFloatArray(), y.get(key).toFloatArray(), key);
                }
                checkAgainstReference(y, b, 3);
            }
        }
    }

    @Test void badStateIsRefusedBeforeAnythingChanges() {
        try (Scope s = Scope.open()) {
            List<NamedParam> ps = params();
            try (AdamW8bit opt = make(ps)) {
                step(opt, 1);
                Map<String, Tensor> saved = new LinkedHashMap<>(opt.stateDict());
                // torch AdamW's keys (another optimizer's state) name nothing here
                Map<String, Tensor> adamw = Map.of("w.exp_avg", Torch.zeros(new long[] {60, 75}, DType.F32, Device.CPU));
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(adamw));
                assertTrue(e.getMessage().contains("w.exp_avg"), e.getMessage());
                Map<String, Tensor> f32 = new LinkedHashMap<>(saved);
                f32.put("w.state1", Torch.zeros(new long[] {60, 75}, DType.F32, Device.CPU));
                e = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(f32));
                assertTrue(e.getMessage().contains("w.state1") && e.getMessage().contains("u8"), e.getMessage());
                Map<String, Tensor> noAbsmax = new LinkedHashMap<>(saved);
                noAbsmax.remove("c.absmax2");
                e = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(noAbsmax));
                assertTrue(e.getMessage().contains("c.absmax2"), e.getMessage());
                Map<String, Tensor> after = opt.stateDict();
                assertArrayEquals(saved.get("w.state1").toByteArray(), after.get("w.state1").toByteArray(), "unchanged after refusals");
            }
        }
    }

    @Test void fp16SkipLeavesEverythingAsItWas() {
        try (Scope s = Scope.open()) {
            List<NamedParam> ps = params();
            try (AdamW8bit opt = make(ps)) {
                opt.zeroGrad();
                Tensor p = ps.get(0).tensor();
                p.setGrad(Torch.of(grad(0, 1), p.shape()));
                opt.step(0.1, Torch.full(new long[0], 1.0, DType.F32, Device.CPU));
                assertArrayEquals(init(0), p.toFloatArray());
                assertTrue(opt.stateDict().isEmpty());
            }
        }
    }

    @Test void eightBitStatesTakeAQuarterOfTheBytes() {
        try (Scope s = Scope.open()) {
            List<NamedParam> ps = params();
            try (AdamW8bit opt = make(ps)) {
                for (int t = 1; t <= 1; t++) step(opt, t);
                // w: 4500 + 4500 code bytes + 2·18 absmax; c: 2·4096 + 2·16·4; s: 2·300·4
                assertEquals(2 * 4500 + 2 * 18 * 4 + 2 * 4096 + 2 * 16 * 4 + 2 * 300 * 4, opt.stateBytes());
            }
            try (AdamW full = new AdamW(ps, 0.9, 0.99, 1e-6, 0.05); Lion lion = new Lion(ps, 0.9, 0.99, 0)) {
                step(full, 1);
                step(lion, 1);
                assertEquals(8L * (4500 + 4096 + 300), full.stateBytes(), "fp32 m and v");
                assertEquals(4L * (4500 + 4096 + 300), lion.stateBytes(), "Lion keeps one fp32 moment");
            }
        }
    }
}
