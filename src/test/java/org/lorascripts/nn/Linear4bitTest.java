package org.lorascripts.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Checkpoint;
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
                Tensor y1 = q.forward(x1);
                assertEquals(inside ? pending : pending + 1, Checkpoint.pendingSegments(),
                        "outside a checkpointed layer the product is a checkpointed segment (the weight is dequantised again in backward)");
                Tensor y2 = dense.forward(x2);
                assertArrayEquals(y2.toDoubleArray(), y1.toDoubleArray(), 0);
                Tensor g = Torch.randn(new long[] {3, 5, 40}, DType.F64, Device.CPU);
                y1.backward(g, false);
                y2.backward(g, false);
                assertEquals(pending, Checkpoint.pendingSegments());
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
}
