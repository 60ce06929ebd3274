package org.lorascripts.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.CustomFunction;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/**
 * fp8 storage of frozen weights (fp8_base): per-channel scaled e4m3 within its rounding, linear and convolution
 * outputs and input gradients as over the dense copy with nothing of the input saved, and a one-line error where libtorch has no float8 (before 2.1).
 */
class Fp8BaseTest {
    private static void needFp8() {
        assumeTrue(DType.F8E4M3.available(), "libtorch " + Torch.libtorchVersion() + " has no float8_e4m3fn");
    }

    @Test
    void eachChannelIsWithinE4m3RoundingOfItsScale() {
        needFp8();
        Rng.manualSeed(3);
        try (Scope s = Scope.open()) {
            // channels of very different magnitude: a plain cast flushes the small one (below e4m3's 2^-9) to zero
            Tensor w = Torch.randn(new long[] {3, 200}, DType.F32, Device.CPU).mul(Torch.of(new float[] {1e-5f, 0.02f, 3f}, 3, 1));
            Fp8Weight q = Fp8Weight.quantize(w, "test");
            assertEquals(DType.F8E4M3, q.values().dtype());
            assertEquals(600 + 12, q.bytes());
            double[] d = q.dense(DType.F32).toDoubleArray(), o = w.toDoubleArray();
            double[] plain = w.to(DType.F8E4M3).to(DType.F32).toDoubleArray();
            double smallErrScaled = 0, smallErrPlain = 0, smallNorm = 0;
            for (int c = 0; c < 3; c++) {
                double amax = 0;
                for (int i = 0; i < 200; i++) amax = Math.max(amax, Math.abs(o[c * 200 + i]));
                for (int i = 0; i < 200; i++) {
                    int j = c * 200 + i;
                    // 3 mantissa bits: half a step is 1/16 of the value; under e4m3's smallest normal the step is 2^-9 of the scale
                    double bound = Math.abs(o[j]) / 16 + amax / Fp8Weight.MAX * Math.pow(2, -10) + 1e-12;
                    assertTrue(Math.abs(d[j] - o[j]) <= bound, "channel " + c + " value " + i + ": " + o[j] + " -> " + d[j]);
                    if (c == 0) {
                        smallErrScaled += Math.abs(d[j] - o[j]);
                        smallErrPlain += Math.abs(plain[j] - o[j]);
                        smallNorm += Math.abs(o[j]);
                    }
                }
            }
            assertTrue(smallErrScaled < 0.05 * smallNorm, "scaled: " + smallErrScaled / smallNorm);
            assertTrue(smallErrPlain > 0.9 * smallNorm, "a plain cast keeps the small channel: " + smallErrPlain / smallNorm);
        }
    }

    @Test
    void anAllZeroChannelStaysZero() {
        needFp8();
        try (Scope s = Scope.open()) {
            Tensor w = Torch.cat(java.util.List.of(Torch.zeros(new long[] {1, 8}, DType.F32, Device.CPU),
                    Torch.ones(new long[] {1, 8}, DType.F32, Device.CPU)), 0);
            double[] d = Fp8Weight.quantize(w, "test").dense(DType.F32).toDoubleArray();
            for (int i = 0; i < 8; i++) assertEquals(0, d[i]);
            for (int i = 8; i < 16; i++) assertEquals(1, d[i]);
        }
    }

    @Test
    void linearMatchesTheDenseCopyAndSavesNothingOfItsInput() {
        needFp8();
        for (boolean withBias : new boolean[] {false, true}) {
            try (Weights w = new Weights(new RandomWeights(5), Device.CPU, DType.F64); Scope s = Scope.open()) {
                w.setFp8Base(true);
                Linear l = new Linear(w.pp("proj"), 320, 256, withBias);
                assertTrue(l.quantized());
                assertFalse(w.loadedTensors().containsKey("proj.weight"), "no dense weight kept");
                assertArrayEquals(new long[] {256, 320}, l.weightShape());
                Linear dense = new Linear(l.weight(), l.bias());
                Tensor x1 = Torch.randn(new long[] {2, 3, 320}, DType.F64, Device.CPU).requiresGrad_(true);
                Tensor x2 = x1.detach().requiresGrad_(true);
                long ops = CustomFunction.mark();
                Tensor y1 = l.forward(x1);
                assertEquals(1, CustomFunction.pendingSince(ops), "the product is an operation of its own");
                Tensor y2 = dense.forward(x2);
                assertArrayEquals(y2.toDoubleArray(), y1.toDoubleArray(), 1e-12);
                Tensor g = Torch.randn(new long[] {2, 3, 256}, DType.F64, Device.CPU);
                y1.backward(g, false);
                y2.backward(g, false);
                assertEquals(0, CustomFunction.pendingSince(ops));
                assertArrayEquals(x2.grad().toDoubleArray(), x1.grad().toDoubleArray(), 1e-12);
            }
        }
    }

    @Test
    void convolutionMatchesTheDenseCopyOverStridesAndOddSizes() {
        needFp8();
        Rng.manualSeed(8);
        for (int[] c : new int[][] {{1, 1, 9}, {2, 1, 9}, {2, 1, 8}, {1, 0, 7}}) {   // stride, padding, size
            int stride = c[0], pad = c[1], kernel = pad == 0 ? 1 : 3;
            try (Weights w = new Weights(new RandomWeights(9), Device.CPU, DType.F64); Scope s = Scope.open()) {
                w.setFp8Base(true);
                Conv2d conv = new Conv2d(w.pp("conv"), 96, 128 * 9 / (kernel * kernel), kernel, stride, pad, true);
                assertTrue(conv.quantized());
                Tensor wd = conv.weight();
                Tensor x1 = Torch.randn(new long[] {2, 96, c[2], c[2] + 1}, DType.F64, Device.CPU).requiresGrad_(true);
                Tensor x2 = x1.detach().requiresGrad_(true);
                Tensor y1 = conv.forward(x1);
                Tensor y2 = Functional.conv2d(x2, wd, conv.bias(), stride, pad, 1);
                assertArrayEquals(y2.toDoubleArray(), y1.toDoubleArray(), 1e-10);
                Tensor g = Torch.randn(y1.shape(), DType.F64, Device.CPU);
                y1.backward(g, false);
                y2.backward(g, false);
                assertArrayEquals(x2.grad().toDoubleArray(), x1.grad().toDoubleArray(), 1e-10, java.util.Arrays.toString(c));
            }
        }
    }

    @Test
    void underAutocastTheGradientComesInTheInputsDtype() {
        needFp8();
        try (Weights w = new Weights(new RandomWeights(2), Device.CPU, DType.BF16); Scope s = Scope.open();
             Autocast ac = Autocast.enable(Device.Type.CPU, DType.BF16)) {
            w.setFp8Base(true);
            Linear l = new Linear(w.pp("proj"), 256, 256, true);
            Tensor x = Torch.randn(new long[] {4, 256}, DType.F32, Device.CPU).requiresGrad_(true);
            Tensor y = l.forward(x);
            assertEquals(DType.BF16, y.dtype());
            y.sum().backward();
            assertEquals(DType.F32, x.grad().dtype());
            // d(sum(x W^T))/dx = the column sums of W, each row
            double[] colSums = l.weight().to(DType.F32).sum(new long[] {0}, false).toDoubleArray();
            double[] gx = x.grad().toDoubleArray();
            for (int i = 0; i < 256; i++) assertEquals(colSums[i], gx[i], 0.02 * (1 + Math.abs(colSums[i])), "column " + i);
        }
    }

    @Test
    void withoutFloat8InLibtorchTheLayerSaysWhatToDo() {
        assumeTrue(!DType.F8E4M3.available(), "this libtorch has float8");
        try (Weights w = new Weights(new RandomWeights(2), Device.CPU, DType.F32)) {
            w.setFp8Base(true);
            var e = assertThrows(IllegalArgumentException.class, () -> new Linear(w.pp("proj"), 512, 512, false));
            assertTrue(e.getMessage().startsWith("fp8_base (proj.weight) needs F8_E4M3 tensors, which libtorch "), e.getMessage());
            assertTrue(e.getMessage().contains("use libtorch 2.1 or newer"), e.getMessage());
        }
    }

    /** An F8_E4M3 tensor in a safetensors file (an fp8 checkpoint) reads into a compute dtype, or says what libtorch it needs. */
    @Test
    void anF8E4M3TensorOfAFileReadsWhereLibtorchHasTheType(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path file = dir.resolve("fp8.safetensors");
        // e4m3fn bytes: 0x38 = 1.0, 0x40 = 2.0, 0xB8 = -1.0, 0x3C = 1.5
        new org.lorascripts.io.SafetensorsWriter().add("w", DType.F8E4M3, new long[] {4}, new byte[] {0x38, 0x40, (byte) 0xB8, 0x3C}).write(file);
        try (var src = org.lorascripts.io.TensorSource.open(file); Scope s = Scope.open()) {
            if (DType.F8E4M3.available()) {
                Tensor t = org.lorascripts.io.TensorIO.read(src, "w", Device.CPU, DType.F32);
                assertArrayEquals(new double[] {1, 2, -1, 1.5}, t.toDoubleArray(), 0);
            } else {
                var e = assertThrows(IllegalArgumentException.class, () -> org.lorascripts.io.TensorIO.read(src, "w", Device.CPU, DType.F32));
                assertTrue(e.getMessage().startsWith("tensor 'w' needs F8_E4M3 tensors, which libtorch "), e.getMessage());
            }
        }
    }
}
