package org.lorascripts.bench;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.lorascripts.config.ConfigLoader;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.tasks.sd.SdLoraTask;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.Device;
import org.lorascripts.train.TrainingDevice;

/**
 * The device memory of setting up an image LoRA run: loading the model, caching latents and text states, freeing the
 * encoders, loading the UNet and injecting the LoRA ({@code new SdLoraTask}), before the first step. On CUDA the
 * allocator's peak and what stays allocated; on the CPU (a libtorch with Kineto) the peak of the allocations libtorch's
 * profiler records in the region, by operator.
 *
 * <pre>
 * SdTaskMemory config.yaml [key=value ...]
 * </pre>
 */
public final class SdTaskMemory {
    private SdTaskMemory() {}

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: SdTaskMemory config.yaml [key=value ...]");
            System.exit(2);
        }
        List<String> overrides = Arrays.asList(args).subList(1, args.length);
        TrainConfig config = ConfigLoader.load(Path.of(args[0]), overrides).config();
        Device dev = TrainingDevice.resolve(config.loop().device());
        boolean cuda = dev.isCuda();
        if (cuda) {
            Cuda.emptyCache();
            Cuda.resetPeakMemory(dev.index());
        }
        SdLoraTask[] task = new SdLoraTask[1];
        MemoryPeak.Profiled r = MemoryPeak.profile(dev, () -> task[0] = new SdLoraTask(config, line -> {}));
        try (SdLoraTask t = task[0]) {
            String parts = String.valueOf(t.pipeline().residentAtUnetLoad());
            if (cuda) {
                long resident = Cuda.memory(dev.index()).map(Cuda.Memory::allocated).orElse(0L);
                System.out.printf(Locale.ROOT, "set-up on %s: allocator peak %.1f MiB, allocated after %.1f MiB; beside the UNet when it loaded: %s%n",
                        dev, MemoryPeak.mib(r.peak()), MemoryPeak.mib(resident), parts);
            } else {
                MemoryPeak p = MemoryPeak.of(r.events(), 0, MemoryPeak.OUTER_OP);
                System.out.printf(Locale.ROOT, "set-up on the CPU: profiled peak %.1f MiB, %.1f MiB allocated at the end; beside the UNet when it loaded: %s%n",
                        MemoryPeak.mib(p.peakBytes()), MemoryPeak.mib(p.endBytes()), parts);
                System.out.print(p.report("set-up", 12));
            }
        }
    }
}
