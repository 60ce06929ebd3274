package org.lorascripts.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.lorascripts.io.TensorIO;
import org.lorascripts.io.TensorSource;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * NF4 with double quantisation against {@code tools/nf4_reference.py} (bitsandbytes' format in plain
 * torch), which wrote {@code fixtures/nf4-reference.safetensors}:
 * {@code /tmp/ptenv/bin/python3 tools/nf4_reference.py src/test/resources/fixtures/nf4-reference.safetensors}.
 * Case a: 32 x 520 f32 (260 blocks, 2 nested blocks, an all-zero row); b: 8 x 100 f32 (a partial
 * last block, an outlier, values on exact code points); c: 7 x 9 bf16 (odd count, bf16 output).
 */
class Nf4Test {
    private static final Map<String, Tensor> REF = new HashMap<>();

    @BeforeAll static void load() throws Exception {
        Path f = Path.of(Nf4Test.class.getResource("/fixtures/nf4-reference.safetensors").toURI());
        try (TensorSource src = TensorSource.open(f)) {
            for (String n : src.names()) REF.put(n, TensorIO.read(src, n).keep());
        }
    }

    @AfterAll static void free() {
        REF.values().forEach(Tensor::close);
        REF.clear();
    }

    @Test void theCodeTablesAreBitsandbytes() {
        assertArrayEquals(REF.get("nf4_code").toFloatArray(), Nf4.code());
        assertArrayEquals(REF.get("dynamic_code").toFloatArray(), Nf4.dynamicMap());
    }

    @ParameterizedTest @ValueSource(strings = {"a", "b", "c"})
    void codesAbsmaxAndNestedStateEqualTheReference(String c) {
        try (Scope s = Scope.open()) {
            Nf4.Quantized q = Nf4.quantize(REF.get(c + ".weight"));
            assertArrayEquals(REF.get(c + ".packed").toByteArray(), q.packed().toByteArray(), "packed codes");
            assertArrayEquals(REF.get(c + ".nested_absmax").toByteArray(), q.absmaxCodes().toByteArray(), "absmax codes");
            assertArrayEquals(REF.get(c + ".nested_absmax2").toFloatArray(), q.absmaxScales().toFloatArray(), "absmax scales");
            assertArrayEquals(REF.get(c + ".nested_offset").toFloatArray(), q.offset().toFloatArray(), "offset");
            assertArrayEquals(REF.get(c + ".absmax_dequantized").toFloatArray(), Nf4.absmax(q).toFloatArray(), "dequantised absmax");
            assertEquals(DType.U8, q.packed().dtype());
            assertEquals((q.numel() + 1) / 2, q.packed().numel());
        }
    }

    @ParameterizedTest @ValueSource(strings = {"a", "b", "c"})
    void dequantisedWeightsEqualTheReference(String c) {
        Tensor ref = REF.get(c + ".dequantized");
        try (Scope s = Scope.open()) {
            Nf4.Quantized q = Nf4.quantize(REF.get(c + ".weight"));
            Tensor w = Nf4.dequantize(q, ref.dtype());
            assertEquals(ref.dtype(), w.dtype());
            assertArrayEquals(ref.shape(), w.shape());
            assertArrayEquals(ref.to(DType.F32).toFloatArray(), w.to(DType.F32).toFloatArray());
        }
    }

    /** Values on code points: -1, 1, 0 and NF4[13] are codes 0, 15, 7, 13, packed high nibble first. */
    @Test void packingPutsTheEvenElementInTheHighNibble() {
        try (Scope s = Scope.open()) {
            Nf4.Quantized q = Nf4.quantize(Torch.of(new float[] {-1f, 1f, 0f, 0.5626170039176941f}, 1, 4));
            byte[] p = q.packed().toByteArray();
            assertEquals(0x0F, p[0] & 0xFF, "codes 0 and 15");
            assertEquals(0x7D, p[1] & 0xFF, "codes 7 and 13");
        }
    }

    @Test void aboutHalfAByteAParameter() {
        long n = 4096L * 11008;
        double perParam = (double) Nf4.bytes(n) / n;
        assertTrue(perParam > 0.515 && perParam < 0.517, "bytes per parameter " + perParam);
        try (Scope s = Scope.open()) {
            Nf4.Quantized q = Nf4.quantize(REF.get("a.weight"));
            assertEquals(Nf4.bytes(q.numel()), q.bytes());
        }
    }
}
