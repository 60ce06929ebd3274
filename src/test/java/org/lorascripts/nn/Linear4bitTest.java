package org.lorascripts.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Checkpoint;
import org.lorascripts.tensor.CustomFunction;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;

/** The 4-bit host: NF4 state only, output and input gradient as a linear over the dequantised weight, no weight gradient. */
class Linear4bitTest {
    @Test void forwardAndInputGradientEqualTheDequantisedLinear() {
        for (boolean inside : new boolean[] {false, true}) {
            try (Weights w = new Weights(new RandomWeights(7), Device.CPU, DType.F64); Scope s = Scope.open()) {
                Linear4bit q = new Linear4bit(w.pp("proj"), 96, 40, true);
                q.setInsideCheckpoint(inside);
                assertTrue(w.loadedTensors().containsKey("proj.bias"));
                assertTrue(!w.loadedTensors().containsKey("proj.weight"), "no dense weight kept");
                assertEquals(List.of("proj"), List.copyOf(w.loraHosts().keySet()));
                assertArrayEquals(new long[] {40, 96}, q.weightShape());
                Tensor dq = q.weight();
                assertEquals(DType.F64, dq.dtype());
                Linear dense = new Linear(dq, q.bias());

                Tensor x1 = Torch.randn(new long[] {3, 5, 96}, DType.F64, Device.CPU).requiresGrad_(true);
                Tensor x2 = x1.detach().requiresGrad_(true);
                int pending = Checkpoint.pendingSegments();
                long ops = CustomFunction.mark();
                Tensor y1 = q.forward(x1);
                assertEquals(pending, Checkpoint.pendingSegments(), "the product is not recomputed in backward");
                assertEquals(inside ? 0 : 1, CustomFunction.pendingSince(ops),
                        "outside a checkpointed layer the product is an operation whose backward dequantises the weight again");
                Tensor y2 = dense.forward(x2);
                assertArrayEquals(y2.toDoubleArray(), y1.toDoubleArray(), 0);
                Tensor g = Torch.randn(new long[] {3, 5, 40}, DType.F64, Device.CPU);
                y1.backward(g, false);
                y2.backward(g, false);
                assertEquals(0, CustomFunction.pendingSince(ops));
                assertArrayEquals(x2.grad().toDoubleArray(), x1.grad().toDoubleArray(), 1e-12);
                for (Tensor t : q.state().tensors()) assertNull(t.grad());
            }
        }
    }

    @Test void linearLayerPicksTheKindByTheWeightsSetting() {
        try (Weights w = new Weights(new RandomWeights(7), Device.CPU, DType.F32)) {
            assertTrue(LinearLayer.load(w.pp("a"), 64, 64, false) instanceof Linear);
            w.setLoadIn4bit(true);
            LinearLayer l = LinearLayer.load(w.pp("b"), 64, 64, false);
            assertTrue(l instanceof Linear4bit && l.quantized());
            assertEquals(Nf4.bytes(64 * 64), ((Linear4bit) l).state().bytes());
        }
    }

    @Test void anInputOfAnotherDtypeGetsItsGradientInItsOwnDtype() {
        // a bf16 model fed a float32 input (as autocast leaves it): output in bf16, the input's gradient in float32,
        // equal to grad · W over the dequantised weight
        try (Weights w = new Weights(new RandomWeights(3), Device.CPU, DType.BF16); Scope s = Scope.open();
             var ac = org.lorascripts.tensor.Autocast.enable(Device.Type.CPU, DType.BF16)) {
            Linear4bit q = new Linear4bit(w.pp("proj"), 64, 32, false);
            Tensor x = Torch.randn(new long[] {2, 7, 64}, DType.F32, Device.CPU).requiresGrad_(true);
            Tensor y = q.forward(x);
            assertEquals(DType.BF16, y.dtype());
            Tensor g = Torch.randn(new long[] {2, 7, 32}, DType.F32, Device.CPU).to(DType.BF16);
            y.backward(g, false);
            assertEquals(DType.F32, x.grad().dtype());
            Tensor expected = g.to(DType.F32).matmul(q.weight().to(DType.F32));
            double[] e = expected.toDoubleArray(), a = x.grad().toDoubleArray();
            double scale = 0;
            for (double v : e) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], 0.02 * scale, "element " + i);
        }
    }
}
