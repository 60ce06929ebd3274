package org.lorascripts.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** The fp8 weight's dense copy: the e4m3fn table the CUDA kernel reads, and the kernel against the cast-and-multiply. */
class Fp8DequantTest {
    @Test
    void theTableHoldsE4m3fnValues() {
        float[] v = Fp8Weight.e4m3Values();
        assertEquals(1.0f, v[0x38]);                  // exponent 7 (the bias), mantissa 0
        assertEquals(448.0f, v[0x7E]);                // the largest finite value
        assertEquals(-448.0f, v[0xFE]);
        assertEquals(0x1p-9f, v[0x01]);               // the smallest subnormal
        assertEquals(0x1p-6f, v[0x08]);               // the smallest normal
        assertEquals(0.875f * 0x1p-6f, v[0x07]);      // the largest subnormal
        assertEquals(1.125f, v[0x39]);
        assertTrue(Float.isNaN(v[0x7F]) && Float.isNaN(v[0xFF]), "NaN at S.1111.111, no infinities");
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(v[0x80]));
        for (int b = 1; b < 0x7F; b++) assertTrue(v[b] > v[b - 1], "codes 0..126 ascend: " + b);
    }

    @Test
    void libtorchsFloat8KeepsEveryTableValue() {
        assumeTrue(DType.F8E4M3.available(), "libtorch without float8");
        float[] v = Fp8Weight.e4m3Values();
        float[] finite = new float[254];
        int k = 0;
        for (int b = 0; b < 256; b++) if (!Float.isNaN(v[b])) finite[k++] = v[b];
        try (Scope s = Scope.open()) {
            float[] back = Torch.of(finite).to(DType.F8E4M3).to(DType.F32).toFloatArray();
            assertArrayEquals(finite, back, 0f, "each value is one of float8_e4m3fn's");
        }
    }

    /**
     * CUDA only: the kernel's dense copy equals the cast-and-multiply bit for bit, in each 16-bit dtype and float32, over
     * whole weights (the load-time check compares the first 64 rows), odd sizes and 4-D convolution weights.
     */
    @Test
    void theKernelMatchesTheCompositionBitForBit() {
        assumeTrue(Cuda.isAvailable(), "no CUDA device");
        assumeTrue(DType.F8E4M3.available(), "libtorch without float8");
        Device dev = Device.cuda(0);
        long[][] shapes = {{1000, 333}, {4096, 4096}, {320, 640, 3, 3}, {7, 5}, {3, 1}};
        for (DType dt : new DType[] {DType.BF16, DType.F16, DType.F32}) {
            for (long[] shape : shapes) {
                Rng.manualSeed(3);
                try (Scope s = Scope.open()) {
                    Tensor w = Torch.randn(shape, DType.F32, dev).mul(0.02).to(dt);
                    Fp8Weight q = Fp8Weight.quantize(w, "test");
                    assertTrue(Fp8Weight.kernelServes(dev, dt), dt + ": the kernel passed its load-time check and serves");
                    Tensor fused = q.dense(dt), plain = q.plainDense(dt);
                    assertEquals(dt, fused.dtype());
                    assertArrayEquals(plain.shape(), fused.shape());
                    String what = dt + " " + java.util.Arrays.toString(shape);
                    assertEquals(0.0, fused.to(DType.F32).sub(plain.to(DType.F32)).abs().amax().item(), 0.0, what);
                    for (Tensor t : q.tensors()) t.close();
                }
            }
        }
    }
}
