package org.lorascripts.train;

import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.Device;

/** The device a run trains on, from the config's {@code device} value. */
public final class TrainingDevice {
    private TrainingDevice() {}

    /** {@code auto} = cuda:0 when CUDA is available, else the CPU; a named CUDA device must exist. */
    public static Device resolve(String setting) {
        if (setting.equals("auto")) return Cuda.isAvailable() ? Device.cuda(0) : Device.CPU;
        Device d = Device.parse(setting);
        if (d.isCuda()) {
            int count = Cuda.isAvailable() ? Cuda.deviceCount() : 0;
            if (d.index() >= count) {
                throw new TrainingException("device " + setting + " is not available (" + count
                        + " CUDA device(s) found); set device: auto or cpu, or check the driver with ./lora doctor");
            }
        }
        return d;
    }
}
