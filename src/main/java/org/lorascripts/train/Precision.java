package org.lorascripts.train;

import org.lorascripts.config.MixedPrecision;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.train.optim.GradScaler;

/**
 * What mixed_precision means on a device: fp16 = autocast fp16 with dynamic loss scaling (CUDA
 * only); bf16 = autocast bf16, no scaler (bf16 has fp32's range); no = plain fp32.
 */
record Precision(MixedPrecision mode, Device device) {
    static Precision of(MixedPrecision mode, Device device) {
        if (mode == MixedPrecision.FP16 && !device.isCuda()) {
            throw new TrainingException("mixed_precision fp16 needs a CUDA device, but training runs on " + device
                    + "; set mixed_precision: bf16 or no for the CPU");
        }
        return new Precision(mode, device);
    }

    /** An autocast region, or null (try-with-resources skips null) in fp32. */
    Autocast autocast() {
        return switch (mode) {
            case NO -> null;
            case FP16 -> Autocast.enable(device.type(), DType.F16);
            case BF16 -> Autocast.enable(device.type(), DType.BF16);
        };
    }

    GradScaler newScaler() {
        return mode == MixedPrecision.FP16 ? GradScaler.enabled(device) : GradScaler.disabled();
    }
}
