package org.lorascripts.tensor;

import java.util.Optional;
import org.lorascripts.ffi.CudaApi;
import org.lorascripts.ffi.TensorApi;

/** CUDA availability, devices and memory statistics. Memory figures need a shim built with CUDA headers. */
public final class Cuda {
    private Cuda() {}

    public static boolean isAvailable() { return TensorApi.cudaAvailable(); }
    public static int deviceCount() { return TensorApi.cudaDeviceCount(); }
    public static boolean isBf16Supported() { return isAvailable() && TensorApi.cudaBf16Supported(); }
    public static void synchronize(int device) { CudaApi.synchronize(device); }
    public static void emptyCache() { CudaApi.emptyCache(); }
    /** TF32 tensor cores for fp32 matmuls and convolutions (as torch's allow_tf32). */
    public static void setTf32(boolean on) { TensorApi.setTf32(on); }
    public static void resetPeakMemory(int device) {
        ensureInitialized(device);
        CudaApi.resetPeak(device);
    }

    public record Memory(long allocated, long reserved, long peakAllocated) {}

    public static Optional<Memory> memory(int device) {
        ensureInitialized(device);
        return CudaApi.memory(device).map(m -> new Memory(m[0], m[1], m[2]));
    }

    private static final java.util.Set<Integer> INITIALIZED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** The caching allocator's statistics exist only once the device has allocated: touch it first. */
    private static void ensureInitialized(int device) {
        if (INITIALIZED.add(device)) {
            try (Tensor t = Torch.zeros(new long[] {1}, DType.F32, Device.cuda(device))) {
                t.numel();
            }
        }
    }

    public static Optional<CudaApi.DeviceInfo> deviceInfo(int device) { return CudaApi.deviceInfo(device); }
}
