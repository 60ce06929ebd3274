package org.lorascripts.tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.lorascripts.ffi.CudaRtc;
import org.lorascripts.ffi.NativeCache;
import org.lorascripts.ffi.TensorApi;

/**
 * A CUDA kernel compiled at run time from CUDA C++ source with NVRTC ({@link CudaRtc}), cached as a
 * cubin per GPU architecture and NVRTC version under the native cache ({@code kernels/}), loaded once
 * per device and launched on libtorch's current stream (so it orders with libtorch's own kernels and is
 * captured into CUDA graphs like them). Kernels that cannot be compiled here (no NVRTC, an architecture
 * NVRTC does not know) report it once through {@link #usable}; callers then take their plain libtorch
 * path. {@code LORA_FUSED_KERNELS=0} turns every run-time kernel off.
 */
public final class CudaKernel {
    private final String name, source, kernel;
    private final List<String> options;
    private final Map<Integer, MemorySegment> functions = new ConcurrentHashMap<>();
    private volatile String failure;

    private static volatile Boolean disabledByEnv;
    private static final Map<String, Boolean> WARNED = new ConcurrentHashMap<>();
    private static volatile boolean forceOff;

    /**
     * @param name    a short name for messages and the cache
     * @param source  CUDA C++ source; kernels are {@code extern "C" __global__}
     * @param kernel  the kernel's name in the source
     * @param options extra NVRTC options, e.g. {@code -DLS_T=1}
     */
    public CudaKernel(String name, String source, String kernel, List<String> options) {
        this.name = name;
        this.source = source;
        this.kernel = kernel;
        this.options = List.copyOf(options);
    }

    /** Why run-time kernels cannot run at all here (empty when they can). */
    public static Optional<String> unavailableReason() {
        if (disabled()) return Optional.of("turned off (LORA_FUSED_KERNELS=0)");
        return CudaRtc.unavailableReason();
    }

    /** Whether the environment variable {@code name} turns one kernel off (set to 0, false or off), for A/B runs. */
    public static boolean offByEnv(String name) { return EnvSwitch.off(name); }

    /** Turns every run-time kernel off (true) or back to the default (false); for tests that compare paths. */
    public static void setForcedOff(boolean off) { forceOff = off; }

    private static boolean disabled() {
        if (forceOff) return true;
        Boolean d = disabledByEnv;
        if (d == null) disabledByEnv = d = EnvSwitch.off("LORA_FUSED_KERNELS");
        return d;
    }

    /**
     * Whether this kernel can run on {@code device}: a CUDA device, run-time compilation available and the
     * kernel compiled and loaded there (done here, once). Says why not once per reason on stderr.
     */
    public boolean usable(Device device) {
        if (device.type() != Device.Type.CUDA || forceOff) return false;
        if (failure != null) return false;
        if (functions.containsKey(device.index())) return true;
        Optional<String> why = unavailableReason();
        if (why.isPresent()) {
            if (!disabled()) warnOnce("lora: fused CUDA kernels off (" + why.get() + "); using the plain libtorch path");
            return false;
        }
        try {
            function(device.index());
            return true;
        } catch (RuntimeException e) {
            failure = String.valueOf(e.getMessage());
            warnOnce("lora: fused kernel " + name + " unavailable (" + firstLine(failure) + "); using the plain libtorch path");
            return false;
        }
    }

    private static void warnOnce(String line) {
        if (WARNED.putIfAbsent(line, Boolean.TRUE) == null) System.err.println(line);
    }

    private static String firstLine(String s) {
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }

    private MemorySegment function(int device) {
        return functions.computeIfAbsent(device, d -> CudaRtc.loadFunction(d, cubin(d), kernel));
    }

    /** The cubin for the device's architecture: from the cache, else compiled and stored atomically. */
    private byte[] cubin(int device) {
        var info = Cuda.deviceInfo(device).orElseThrow(() -> new IllegalStateException("no CUDA device information"));
        String arch = "sm_" + info.major() + info.minor();
        int[] v = CudaRtc.nvrtcVersion();
        List<String> opts = new ArrayList<>(List.of("--gpu-architecture=" + arch, "--std=c++17", "-default-device"));
        opts.addAll(options);
        String key = hash(source + "\u0000" + kernel + "\u0000" + String.join(" ", opts));
        Path file = NativeCache.root().resolve("kernels").resolve(arch + "-nvrtc" + v[0] + "." + v[1]).resolve(name + "-" + key + ".cubin");
        try {
            if (Files.isRegularFile(file)) return Files.readAllBytes(file);
        } catch (IOException e) {
            // unreadable cache entry: compile again
        }
        byte[] bin = CudaRtc.compile(source, name + ".cu", opts);
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), name, ".tmp");
            Files.write(tmp, bin);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            // no cache (read-only home): compiling each run still works
        }
        return bin;
    }

    private static String hash(String s) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Launches the kernel on {@code device}'s current stream. Arguments: a {@link Tensor} passes its data
     * pointer (the caller keeps it alive and checks its layout), {@code Integer} an int, {@code Long} a
     * 64-bit int, {@code Float} a float, {@code Double} a double.
     */
    public void launch(Device device, long[] grid, long[] block, int sharedBytes, Object... args) {
        MemorySegment fn = function(device.index());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment params = a.allocate(ValueLayout.ADDRESS, Math.max(1, args.length));
            for (int i = 0; i < args.length; i++) {
                MemorySegment slot = a.allocate(8, 8);
                switch (args[i]) {
                    case Tensor t -> slot.set(ValueLayout.JAVA_LONG, 0, TensorApi.dataPtr(t.handle()));
                    case Integer v -> slot.set(ValueLayout.JAVA_INT, 0, v);
                    case Long v -> slot.set(ValueLayout.JAVA_LONG, 0, v);
                    case Float v -> slot.set(ValueLayout.JAVA_FLOAT, 0, v);
                    case Double v -> slot.set(ValueLayout.JAVA_DOUBLE, 0, v);
                    default -> throw new IllegalArgumentException("kernel argument " + i + " of " + name + ": unsupported " + args[i].getClass().getSimpleName());
                }
                params.setAtIndex(ValueLayout.ADDRESS, i, slot);
            }
            CudaRtc.launch(device.index(), fn, grid, block, sharedBytes, params);
        }
    }

    /** Blocks of {@code threads} covering {@code n} items (at least one). */
    public static long blocks(long n, int threads) { return Math.max(1, (n + threads - 1) / threads); }
}
