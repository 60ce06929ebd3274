package org.lorascripts.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.lorascripts.ffi.CudaApi;
import org.lorascripts.ffi.LibTorch;
import org.lorascripts.ffi.LibTorchLocator;
import org.lorascripts.ffi.Native;
import org.lorascripts.ffi.NativeCache;
import org.lorascripts.ffi.NativeUnavailableException;
import org.lorascripts.ffi.ShimBuilder;
import org.lorascripts.hub.HubCache;
import org.lorascripts.hub.HubEnvironment;
import org.lorascripts.hub.HubException;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.Torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Checks the installation: Java, libtorch, the native shim, CUDA and GPUs. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Check Java, libtorch, the native shim and CUDA, show the Hugging Face Hub cache and endpoint; say how to fix what is missing.",
        footer = {"", "Example:", "  ./lora doctor"})
public final class DoctorCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    /**
     * Reports what it finds line by line; the first problem ends the report with one {@code error:} line
     * (what is wrong and the fix) on stderr and exit code 2.
     */
    @Override public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        // No Java version check here: these classes need Java 25 to load at all, which ./lora checks before starting.
        out.printf("java         %s (%s)%n", Runtime.version(), System.getProperty("java.home"));
        out.printf("cache        %s%n", NativeCache.root());
        hubLines(out);
        LibTorch torch;
        try {
            torch = LibTorchLocator.locate();
        } catch (LibTorchLocator.NotFound e) {
            out.println("libtorch     not found");
            out.flush();
            return ErrorReporter.report(new NativeUnavailableException(e.getMessage(), e), err);
        }
        out.printf("libtorch     %s from %s (%s)%n", torch.version(), torch.source(), torch.libDir());
        Path lib = ShimBuilder.libraryPath(torch);
        if (torch.unsupportedReason().isEmpty()) {
            out.printf("shim         %s (%s)%n", ShimBuilder.isBuilt(torch) ? "built" : "not built yet, building now", lib);
        }
        out.flush();
        try {
            Native.load();
            out.printf("shim runs    libtorch %s, fused attention %s%n", Torch.libtorchVersion(),
                    org.lorascripts.tensor.Functional.hasFusedAttention() ? "yes" : "no (composed fallback)");
            out.printf("float8       %s%n", org.lorascripts.tensor.DType.F8E4M3.available()
                    ? "yes (fp8_base, load_in_8bit)" : "no: fp8_base and load_in_8bit need libtorch 2.1 or newer");
        } catch (NativeUnavailableException e) {
            out.flush();
            return ErrorReporter.report(e, err);
        }
        boolean cuda = Cuda.isAvailable();
        out.printf("cuda         %s%s%n", cuda ? "available" : "not available",
                torch.hasCudaLibrary() ? "" : " (this libtorch is a CPU build; a CUDA libtorch comes with python3's torch or $LIBTORCH)");
        if (cuda) {
            int n = Cuda.deviceCount();
            for (int i = 0; i < n; i++) {
                int dev = i;
                String desc = CudaApi.deviceInfo(i).map(d -> String.format("%s, %.1f GiB, compute %d.%d", d.name(),
                        d.totalMemory() / (double) (1L << 30), d.major(), d.minor())).orElse("(device details need the CUDA headers)");
                out.printf("gpu %d        %s%s%n", dev, desc, Cuda.isBf16Supported() ? ", bf16" : "");
            }
            // cuda_graphs needs the CUDA helpers (graph capture) and the fused AdamW that reads its rate from a tensor
            boolean graphs = org.lorascripts.tensor.CudaGraph.isAvailable() && org.lorascripts.ffi.AutogradApi.hasFusedAdamWTensorLr();
            out.printf("cuda graphs  %s%n", graphs ? "available (cuda_graphs: true replays each training step)"
                    : "not available (needs libtorch 2.4+ with CUDA headers for the shim); steps run without graphs");
            java.util.Optional<String> rtc = org.lorascripts.tensor.CudaKernel.unavailableReason();
            out.printf("fused kernels %s%n", rtc.isEmpty()
                    ? "available (NVRTC " + String.join(".", java.util.Arrays.stream(org.lorascripts.ffi.CudaRtc.nvrtcVersion())
                            .mapToObj(Integer::toString).toList()) + " from " + org.lorascripts.ffi.CudaRtc.nvrtcPath() + ")"
                    : "off: " + rtc.get() + "; the plain libtorch path runs instead");
        }
        // not a problem when missing: only --nproc needs it
        out.printf("distributed  %s%n", org.lorascripts.ffi.DistApi.available()
                ? "c10d with gloo" + (org.lorascripts.ffi.DistApi.ncclAvailable() ? " and nccl" : "") + " (--nproc)"
                : "not built: --nproc needs gloo's headers (apt-get install libgloo-dev; the shim then rebuilds)");
        out.println("ok");
        return 0;
    }

    /** The Hugging Face Hub: the cache folder with its size, the endpoint, the token's source and offline mode. */
    private static void hubLines(PrintWriter out) {
        try {
            HubEnvironment env = HubModels.environment();
            long bytes = new HubCache(env.cacheDir()).sizeBytes();
            out.printf(java.util.Locale.ROOT, "hub cache    %s (%.2f GiB)%n", env.cacheDir(), bytes / (double) (1L << 30));
            out.printf("hub          %s, token %s%s%n", env.endpoint(), env.token().isPresent() ? "from " + env.tokenSource() : "none",
                    env.offline() ? ", offline (HF_HUB_OFFLINE): only cached models" : "");
        } catch (HubException e) {
            out.println("hub          " + e.getMessage());
        }
    }

}
