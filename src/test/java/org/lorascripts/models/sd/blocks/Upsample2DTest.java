package org.lorascripts.models.sd.blocks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.lorascripts.nn.Conv2d;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.Weights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** Upsample2D: nearest 2x (or to a size) then its conv, the same under autocast, which it leaves as it found it. */
class Upsample2DTest {

    @Test
    void nearestThenConvAndAutocastRestored() {
        try (Scope s = Scope.open(); Weights w = new Weights(new RandomWeights(3), Device.CPU, DType.BF16);
             Weights w2 = new Weights(new RandomWeights(3), Device.CPU, DType.BF16)) {
            Upsample2D up = new Upsample2D(w.pp("up"), 4);
            Conv2d conv = new Conv2d(w2.pp("up").pp("conv"), 4, 4, 3, 1, 1, true);   // the same random weights by name
            Tensor x = Torch.randn(new long[] {2, 4, 3, 5}, DType.F32, Device.CPU).to(DType.BF16);
            Tensor ref = Functional.conv2d(Functional.interpolate(x.to(DType.F32), 2.0, 2.0, Functional.Interpolation.NEAREST).to(DType.BF16),
                    conv.weight(), conv.bias(), 1, 1, 1);
            Tensor plain = up.forward(x, null);
            assertArrayEquals(new long[] {2, 4, 6, 10}, plain.shape());
            assertEquals(0.0, plain.to(DType.F64).sub(ref.to(DType.F64)).abs().amax().item(), "nearest then the conv");
            try (Autocast ac = Autocast.enable(Device.Type.CPU, DType.BF16)) {
                Tensor y = up.forward(x, new long[] {7, 9});
                assertTrue(Autocast.isEnabled(Device.Type.CPU), "autocast is back on after the upsampling");
                assertEquals(DType.BF16, y.dtype());
                assertArrayEquals(new long[] {2, 4, 7, 9}, y.shape());
                assertEquals(0.0, up.forward(x, null).to(DType.F64).sub(ref.to(DType.F64)).abs().amax().item(), "the same under autocast");
            }
        }
    }
}
