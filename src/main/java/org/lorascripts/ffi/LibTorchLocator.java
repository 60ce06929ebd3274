package org.lorascripts.ffi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds libtorch, in this order: {@code $LIBTORCH} (a folder with include/ and lib/), the torch
 * package of {@code python3} (pip or conda), Debian's system libtorch (libtorch-dev).
 */
public final class LibTorchLocator {
    private static final Path DEBIAN_LIB = Path.of("/usr/lib/x86_64-linux-gnu");
    private static final Path DEBIAN_INCLUDE = Path.of("/usr/include");

    private LibTorchLocator() {}

    /** What was tried and why it failed, for the error message when nothing is found. */
    public static final class NotFound extends RuntimeException {
        public NotFound(String message) { super(message); }
    }

    public static LibTorch locate() {
        List<String> tried = new ArrayList<>();
        String env = System.getenv("LIBTORCH");
        if (env != null && !env.isBlank()) {
            Path root = Path.of(env);
            Optional<LibTorch> t = fromRoot(root, "$LIBTORCH");
            if (t.isPresent()) return t.get();
            // The user chose this folder: never fall back to another libtorch behind their back.
            String what = Files.isDirectory(root) ? "has no include/torch and lib/libtorch.so" : "does not exist";
            throw new NotFound("LIBTORCH=" + env + " " + what + "; point LIBTORCH at an unpacked libtorch folder (include/ and lib/),"
                    + " or unset it to use python3's torch or Debian's libtorch-dev");
        }
        Optional<LibTorch> py = fromPython(tried);
        if (py.isPresent()) return py.get();
        Optional<LibTorch> sys = fromSystem();
        if (sys.isPresent()) return sys.get();
        tried.add("Debian's libtorch-dev: not installed");
        throw new NotFound("libtorch not found (" + String.join("; ", tried)
                + "); install one: 'sudo apt-get install libtorch-dev' (./lora train does this itself when run as root),"
                + " 'pip install torch' for python3, or set LIBTORCH to an unpacked libtorch folder");
    }

    static Optional<LibTorch> fromRoot(Path root, String source) {
        Path inc = root.resolve("include");
        Path lib = root.resolve("lib");
        if (!Files.isDirectory(inc.resolve("torch")) || !Files.exists(lib.resolve("libtorch.so"))) return Optional.empty();
        List<Path> incs = new java.util.ArrayList<>(List.of(inc, inc.resolve("torch/csrc/api/include")));
        // Kineto's headers (a libtorch built with it ships them): the profiler's event tree needs them
        if (Files.isDirectory(inc.resolve("kineto"))) incs.add(inc.resolve("kineto"));
        String version = readVersion(incs).orElse(LibTorch.UNKNOWN_VERSION);
        boolean cuda = Files.exists(lib.resolve("libtorch_cuda.so"));
        return Optional.of(new LibTorch(source, root, incs, lib, version, cuda, true, cuda ? findCudaInclude(root) : null));
    }

    static Optional<LibTorch> fromSystem() {
        if (!Files.exists(DEBIAN_LIB.resolve("libtorch.so")) || !Files.isDirectory(DEBIAN_INCLUDE.resolve("torch/csrc"))) {
            return Optional.empty();
        }
        List<Path> incs = List.of(DEBIAN_INCLUDE.resolve("torch/csrc/api/include"));
        String version = readVersion(incs).orElse(LibTorch.UNKNOWN_VERSION);
        boolean cuda = Files.exists(DEBIAN_LIB.resolve("libtorch_cuda.so"));
        return Optional.of(new LibTorch("system", Path.of("/usr"), incs, DEBIAN_LIB, version, cuda, true,
                cuda ? findCudaInclude(Path.of("/usr")) : null));
    }

    /**
     * Asks python3 where its torch package is. The answer is cached (keyed by the interpreter's path
     * and modification time) because importing torch takes seconds.
     */
    static Optional<LibTorch> fromPython(List<String> tried) {
        Path python = which("python3");
        if (python == null) { tried.add("python3: not on PATH"); return Optional.empty(); }
        Path cache = NativeCache.root().resolve("python-torch.txt");
        String key = python.toAbsolutePath() + "|" + mtime(python);
        List<String> lines = null;
        try {
            if (Files.exists(cache)) {
                List<String> c = Files.readAllLines(cache, StandardCharsets.UTF_8);
                if (!c.isEmpty() && c.get(0).equals(key) && (c.size() < 2 || c.get(1).isEmpty() || Files.isDirectory(Path.of(c.get(1))))) {
                    lines = c.subList(1, c.size());
                }
            }
        } catch (IOException ignored) { /* re-probe */ }
        if (lines == null) {
            lines = probePython(python);
            try {
                Files.createDirectories(cache.getParent());
                List<String> out = new ArrayList<>();
                out.add(key);
                out.addAll(lines);
                Path tmp = Files.createTempFile(cache.getParent(), ".python-torch", ".tmp");
                Files.write(tmp, out, StandardCharsets.UTF_8);
                Files.move(tmp, cache, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException ignored) { /* cache is an optimisation */ }
        }
        if (lines.isEmpty() || lines.get(0).isEmpty()) { tried.add("python3 (" + python + "): no torch package"); return Optional.empty(); }
        Path dir = Path.of(lines.get(0));
        boolean abi = lines.size() < 2 || !lines.get(1).trim().equals("False");
        Optional<LibTorch> t = fromRoot(dir, "python3 torch");
        if (t.isEmpty()) { tried.add("python3 torch at " + dir + ": no headers (include/torch)"); return Optional.empty(); }
        LibTorch l = t.get();
        return Optional.of(new LibTorch(l.source(), l.root(), l.includeDirs(), l.libDir(), l.version(), l.hasCudaLibrary(), abi, l.cudaInclude()));
    }

    private static List<String> probePython(Path python) {
        String code = "import os, torch; print(os.path.dirname(torch.__file__)); print(torch.compiled_with_cxx11_abi())";
        try {
            Process p = new ProcessBuilder(python.toString(), "-c", code).redirectErrorStream(false).start();
            p.getOutputStream().close();
            if (!p.waitFor(120, TimeUnit.SECONDS)) { p.destroyForcibly(); return List.of(""); }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.exitValue() != 0 || out.isEmpty()) return List.of("");
            return List.of(out.split("\n"));
        } catch (IOException e) {
            return List.of("");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of("");
        }
    }

    private static final Pattern VERSION_PART = Pattern.compile("#define TORCH_VERSION_(MAJOR|MINOR|PATCH) (\\d+)");

    static Optional<String> readVersion(List<Path> includeDirs) {
        // Newer releases keep the numbers in torch/headeronly/version.h, included by torch/version.h.
        List<Path> candidates = new ArrayList<>();
        for (Path inc : includeDirs) {
            candidates.add(inc.resolve("torch/version.h"));
            candidates.add(inc.resolve("torch/headeronly/version.h"));
        }
        for (Path v : candidates) {
            if (!Files.exists(v)) continue;
            try {
                String text = Files.readString(v);
                Matcher m = VERSION_PART.matcher(text);
                String maj = null, min = null, pat = "0";
                while (m.find()) {
                    switch (m.group(1)) {
                        case "MAJOR" -> maj = m.group(2);
                        case "MINOR" -> min = m.group(2);
                        default -> pat = m.group(2);
                    }
                }
                if (maj != null && min != null) return Optional.of(maj + "." + min + "." + pat);
            } catch (IOException ignored) { /* try the next */ }
        }
        return Optional.empty();
    }

    /** CUDA runtime headers, needed only for the optional CUDA helpers (memory statistics, device names). */
    static Path findCudaInclude(Path torchRoot) {
        List<Path> candidates = new ArrayList<>();
        String home = System.getenv("CUDA_HOME");
        if (home != null) candidates.add(Path.of(home, "include"));
        candidates.add(Path.of("/usr/local/cuda/include"));
        // pip wheels: site-packages/nvidia/cuda_runtime/include (CUDA 12) or nvidia/cu13/include (CUDA 13)
        Path site = torchRoot.getParent();
        if (site != null) {
            candidates.add(site.resolve("nvidia/cuda_runtime/include"));
            candidates.add(site.resolve("nvidia/cu13/include"));
        }
        for (Path c : candidates) if (Files.exists(c.resolve("cuda_runtime_api.h"))) return c;
        return null;
    }

    private static Path which(String name) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String d : path.split(":")) {
            Path p = Path.of(d, name);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    private static String mtime(Path p) {
        try {
            return Files.getLastModifiedTime(p.toRealPath()).toString();
        } catch (IOException e) {
            return "?";
        }
    }
}
