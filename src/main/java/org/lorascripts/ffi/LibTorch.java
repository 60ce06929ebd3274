package org.lorascripts.ffi;

import java.nio.file.Path;
import java.util.List;

/**
 * One libtorch installation: where its headers and libraries are, which version it is, and where it
 * was found ({@code source}: "$LIBTORCH", "python3 torch" or "system").
 */
public record LibTorch(String source, Path root, List<Path> includeDirs, Path libDir, String version,
                       boolean hasCudaLibrary, boolean cxx11Abi, Path cudaInclude) {

    public int major() { return Integer.parseInt(version.split("\\.")[0]); }

    public int minor() { return Integer.parseInt(version.split("\\.")[1]); }

    public boolean atLeast(int maj, int min) { return major() > maj || (major() == maj && minor() >= min); }

    public String describe() {
        return "libtorch " + version + " (" + source + ", " + libDir + (hasCudaLibrary ? ", CUDA build" : ", CPU build") + ")";
    }
}
