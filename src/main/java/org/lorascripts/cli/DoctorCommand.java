package org.lorascripts.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.lorascripts.ffi.CudaApi;
import org.lorascripts.ffi.LibTorch;
import org.lorascripts.ffi.LibTorchLocator;
import org.lorascripts.ffi.Native;
import org.lorascripts.ffi.NativeCache;
import org.lorascripts.ffi.ShimBuilder;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.Torch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Checks the installation: Java, libtorch, the native shim, CUDA and GPUs. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Check Java, libtorch, the native shim and CUDA; say how to fix what is missing.",
        footer = {"", "Example:", "  ./lora doctor"})
public final class DoctorCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.printf("java         %s (%s)%n", Runtime.version(), System.getProperty("java.home"));
        if (Runtime.version().feature() < 22) {
            out.println("problem      Java 22 or newer is needed for java.lang.foreign; install JDK 25 and set JAVA_HOME");
            return 2;
        }
        out.printf("cache        %s%n", NativeCache.root());
        LibTorch torch;
        try {
            torch = LibTorchLocator.locate();
        } catch (LibTorchLocator.NotFound e) {
            out.println("libtorch     not found");
            out.println("problem      " + e.getMessage());
            return 2;
        }
        out.printf("libtorch     %s from %s (%s)%n", torch.version(), torch.source(), torch.libDir());
        Path lib = ShimBuilder.libraryPath(torch);
        out.printf("shim         %s (%s)%n", ShimBuilder.isBuilt(torch) ? "built" : "not built yet, building now", lib);
        try {
            Native.load();
            out.printf("shim runs    libtorch %s, fused attention %s%n", Torch.libtorchVersion(),
                    org.lorascripts.tensor.Functional.hasFusedAttention() ? "yes" : "no (composed fallback)");
        } catch (RuntimeException e) {
            out.println("problem      the native shim failed to build or load: " + firstLine(e.getMessage()));
            out.println("fix          install g++ (apt-get install g++), check the libtorch above, then run ./lora doctor again; "
                    + "set LIBTORCH to pick another libtorch");
            return 2;
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
        }
        out.println("ok");
        return 0;
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }

}
