package org.lorascripts.ffi;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * One libtorch installation: where its headers and libraries are, which version it is, and where it
 * was found ({@code source}: "$LIBTORCH", "python3 torch" or "system").
 */
public record LibTorch(String source, Path root, List<Path> includeDirs, Path libDir, String version,
                       boolean hasCudaLibrary, boolean cxx11Abi, Path cudaInclude) {
    /** The version of a libtorch whose headers carry none. */
    public static final String UNKNOWN_VERSION = "0.0.0";

    public int major() { return Integer.parseInt(version.split("\\.")[0]); }

    public int minor() { return Integer.parseInt(version.split("\\.")[1]); }

    public boolean atLeast(int maj, int min) { return major() > maj || (major() == maj && minor() >= min); }

    /** The oldest libtorch the native shim builds against (Debian bookworm's). */
    public static final String OLDEST_SUPPORTED = "1.13";

    /** Why the shim cannot be built against this libtorch (one line with the fix), or empty when it can. */
    public Optional<String> unsupportedReason() {
        if (version.equals(UNKNOWN_VERSION)) {
            return Optional.of("cannot read the version of the libtorch in " + root + " (" + source + "; no TORCH_VERSION_MAJOR in"
                    + " include/torch/version.h): it looks incomplete; install libtorch " + OLDEST_SUPPORTED + " or newer"
                    + " (apt-get install libtorch-dev, pip install torch, or set LIBTORCH to an unpacked libtorch from pytorch.org)");
        }
        if (!atLeast(1, 13)) {
            return Optional.of(describe() + " is older than " + OLDEST_SUPPORTED + ", the oldest the native shim supports; install"
                    + " a newer one (apt-get install libtorch-dev, pip install torch, or set LIBTORCH to an unpacked libtorch from pytorch.org)");
        }
        return Optional.empty();
    }

    public String describe() {
        return "libtorch " + version + " (" + source + ", " + libDir + (hasCudaLibrary ? ", CUDA build" : ", CPU build") + ")";
    }
}
