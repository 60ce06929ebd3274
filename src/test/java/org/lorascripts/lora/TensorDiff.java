package org.lorascripts.lora;

import org.lorascripts.tensor.Tensor;

final class TensorDiff {
    private TensorDiff() {}

    static double maxAbsDiff(Tensor a, Tensor b) {
        try (Tensor d = a.sub(b); Tensor ad = d.abs(); Tensor m = ad.amax()) {
            return m.item();
        }
    }
}
