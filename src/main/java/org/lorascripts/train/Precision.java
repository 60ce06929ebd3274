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
public record Precision(MixedPrecision mode, Device device) {
    /** fp16 has no CPU kernels worth using: on the CPU it falls back to fp32 (the config check warns about it). */
    public static Precision of(MixedPrecision mode, Device device) {
        if (mode == MixedPrecision.FP16 && !device.isCuda()) return new Precision(MixedPrecision.NO, device);
        return new Precision(mode, device);
    }

    /** The note to print when the requested mode was changed for this device, or null. */
    static String fallbackNote(MixedPrecision requested, Device device) {
        return requested == MixedPrecision.FP16 && !device.isCuda()
                ? "note: mixed_precision fp16 needs a CUDA GPU; training on " + device + " runs in fp32 (bf16 also works on the CPU)"
                : null;
    }

    /** An autocast region, or null (try-with-resources skips null) in fp32. */
    public Autocast autocast() {
        return switch (mode) {
            case NO -> null;
            case FP16 -> Autocast.enable(device.type(), DType.F16);
            case BF16 -> Autocast.enable(device.type(), DType.BF16);
        };
    }

    public GradScaler newScaler() {
        return mode == MixedPrecision.FP16 ? GradScaler.enabled(device) : GradScaler.disabled();
    }
}
