package org.lorascripts.tensor;

import java.util.List;
import org.lorascripts.ffi.AutogradApi;

/** The two kernels of fp16 dynamic loss scaling (GradScaler's unscale_ and update). */
public final class LossScaling {
    private LossScaling() {}

    /** grads *= invScale in place; foundInf (1-element f32) becomes 1 when any grad holds inf/nan. */
    public static void unscale(List<Tensor> grads, Tensor foundInf, Tensor invScale) {
        AutogradApi.ampUnscale_(Torch.handles(grads), foundInf.handle(), invScale.handle());
    }

    /** scale *= backoff on inf (tracker reset), else after growthInterval good steps scale *= growth. */
    public static void updateScale(Tensor scale, Tensor growthTracker, Tensor foundInf, double growth, double backoff, long growthInterval) {
        AutogradApi.ampUpdateScale_(scale.handle(), growthTracker.handle(), foundInf.handle(), growth, backoff, growthInterval);
    }
}
