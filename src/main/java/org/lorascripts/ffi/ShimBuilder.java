package org.lorascripts.ffi;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Compiles the C++ shim (shipped inside the jar under {@code native/}) against one libtorch into the
 * cache, keyed by libtorch version and location and a hash of the shim sources, so a change of either
 * rebuilds it. Concurrent processes serialise on a lock file; the finished library appears by rename.
 */
public final class ShimBuilder {
    static final List<String> CORE_SOURCES = List.of("ls_tensor.cpp", "ls_math.cpp", "ls_nn.cpp", "ls_autograd.cpp", "ls_profile.cpp");
    static final List<String> CUDA_SOURCES = List.of("ls_cuda.cpp");
    /** Distributed training over c10d (gloo); built only when the gloo headers are found, like the CUDA helpers. */
    static final List<String> DIST_SOURCES = List.of("ls_dist.cpp");
    /** The NCCL backend of the distributed part, for CUDA builds whose NCCL headers are found. */
    static final List<String> NCCL_SOURCES = List.of("ls_dist_nccl.cpp");
    static final List<String> HEADERS = List.of("ls_common.h", "ls_dist.h");
    static final String LIBRARY_NAME = "liblsshim.so";

    private ShimBuilder() {}

    /** Where the library for this libtorch would be (built or not). */
    public static Path libraryPath(LibTorch torch) {
        return NativeCache.root().resolve("native").resolve(cacheKey(torch)).resolve(LIBRARY_NAME);
    }

    public static boolean isBuilt(LibTorch torch) { return Files.exists(libraryPath(torch)); }

    /** Where the compiler output of the last failed build for this libtorch is kept (the build folder itself is deleted). */
    public static Path errorLogPath(LibTorch torch) {
        Path dir = libraryPath(torch).getParent();
        return dir.resolveSibling(dir.getFileName() + "-error.log");
    }

    /** A build failure whose one-line message already says what to do. */
    private static class BuildError extends IOException {
        BuildError(String message, Throwable cause) { super(message, cause); }
    }

    /** A compile or link step failed; {@code log} is its output inside the build folder. */
    private static final class StepFailed extends IOException {
        final Path log;
        StepFailed(String what, Path log) { super(what + " failed"); this.log = log; }
    }

    /** Returns the shim library for this libtorch, building it first when the cache lacks it. */
    public static Path ensureBuilt(LibTorch torch) {
        Path lib = libraryPath(torch);
        if (Files.exists(lib)) return lib;
        Path dir = lib.getParent();
        try {
            Files.createDirectories(dir.getParent());
            try (FileChannel lockCh = FileChannel.open(dir.getParent().resolve(dir.getFileName() + ".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock ignored = lockCh.lock()) {
                if (Files.exists(lib)) return lib;
                build(torch, dir);
            }
        } catch (BuildError e) {
            throw new UncheckedIOException(e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the native shim into " + dir + " (" + e
                    + "); set LORA_CACHE_DIR to a writable folder", e);
        }
        return lib;
    }

    private static void build(LibTorch torch, Path dir) throws IOException {
        Path work = Files.createTempDirectory(dir.getParent(), ".build-");
        try {
            for (String f : allSources()) Files.write(work.resolve(f), source(f));
            String cxx = System.getenv().getOrDefault("CXX", "g++");
            List<String> common = new ArrayList<>(List.of(cxx, "-O2", "-std=" + cxxStandard(torch), "-fPIC", "-w",
                    "-fvisibility=hidden", "-D_GLIBCXX_USE_CXX11_ABI=" + (torch.cxx11Abi() ? 1 : 0)));
            for (Path inc : torch.includeDirs()) common.add("-I" + inc);
            System.err.println("lora: compiling the native shim against " + torch.describe() + " (once per libtorch version; ~1 min) ...");
            List<String> objects = new ArrayList<>(compileAll(common, CORE_SOURCES, work, true));
            boolean withCuda = torch.hasCudaLibrary() && torch.cudaInclude() != null;
            if (withCuda) {
                List<String> cudaCommon = new ArrayList<>(common);
                cudaCommon.add("-I" + torch.cudaInclude());
                try {
                    objects.addAll(compileAll(cudaCommon, CUDA_SOURCES, work, true));
                } catch (IOException e) {
                    String why = e instanceof StepFailed f ? firstError(Files.readString(f.log)) : e.getMessage();
                    System.err.println("lora: CUDA helpers (memory statistics, device names) not built: " + why);
                    withCuda = false;
                }
            }
            String dist = buildDist(torch, common, withCuda, work, objects);
            List<String> link = new ArrayList<>(List.of(cxx, "-shared", "-o", work.resolve(LIBRARY_NAME).toString()));
            link.addAll(objects);
            link.addAll(List.of("-L" + torch.libDir(), "-Wl,-rpath," + torch.libDir(), "-Wl,--no-as-needed"));
            link.addAll(List.of("-ltorch", "-ltorch_cpu", "-lc10"));
            // Linking libtorch_cuda (not only needing it) is what registers the CUDA backend at load time.
            if (torch.hasCudaLibrary()) link.add("-ltorch_cuda");
            if (withCuda) link.add("-lc10_cuda");
            run(link, work, "link");
            Files.writeString(work.resolve("BUILD-INFO.txt"), torch.describe() + "\ncuda helpers: " + withCuda + "\ndistributed: " + dist + "\n");
            Files.createDirectories(dir.getParent());
            if (Files.exists(dir)) deleteTree(dir);
            Files.move(work, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (StepFailed e) {
            // The message stays one line (it ends up in "error: ..."); the compiler output goes to a file
            // that outlives the deleted build folder, and into the cause for --debug.
            Path saved = dir.resolveSibling(dir.getFileName() + "-error.log");
            Files.copy(e.log, saved, StandardCopyOption.REPLACE_EXISTING);
            throw new BuildError(e.getMessage() + " (compiler output: " + saved + "); a g++ too old for this libtorch's"
                    + " headers, or a libtorch the shim does not support: point LIBTORCH at libtorch 1.13 or 2.x",
                    new IOException(tail(Files.readString(saved), 4000)));
        } finally {
            if (Files.exists(work)) deleteTree(work);
        }
    }

    /**
     * Compiles the optional c10d part (and its NCCL backend on CUDA builds) into {@code objects}; returns what
     * was built ("gloo", "gloo+nccl" or "none: why"). A failure only leaves distributed training out.
     */
    private static String buildDist(LibTorch torch, List<String> common, boolean withCuda, Path work, List<String> objects)
            throws IOException {
        Path gloo = glooInclude(torch);
        if (gloo == null) {
            System.err.println("lora: distributed training (--nproc) not built: no gloo headers (gloo/algorithm.h);"
                    + " install them with 'apt-get install libgloo-dev'");
            return "none: no gloo headers";
        }
        if (!hasC10dHeaders(torch)) {
            System.err.println("lora: distributed training (--nproc) not built: this libtorch has no c10d headers"
                    + " (torch/csrc/distributed/c10d)");
            return "none: no c10d headers";
        }
        List<String> distCommon = new ArrayList<>(common);
        if (!isDefaultInclude(gloo)) distCommon.add("-I" + gloo);
        try {
            objects.addAll(compileAll(distCommon, DIST_SOURCES, work, true));
        } catch (IOException e) {
            String why = e instanceof StepFailed f ? firstError(Files.readString(f.log)) : e.getMessage();
            System.err.println("lora: distributed training (--nproc) not built: " + why);
            return "none: " + why;
        }
        Path nccl = withCuda ? ncclInclude(torch) : null;
        if (nccl == null) return "gloo";
        List<String> ncclCommon = new ArrayList<>(distCommon);
        ncclCommon.add("-I" + torch.cudaInclude());
        if (!isDefaultInclude(nccl)) ncclCommon.add("-I" + nccl);
        try {
            objects.addAll(compileAll(ncclCommon, NCCL_SOURCES, work, true));
            return "gloo+nccl";
        } catch (IOException e) {
            String why = e instanceof StepFailed f ? firstError(Files.readString(f.log)) : e.getMessage();
            System.err.println("lora: the NCCL backend of distributed training not built (gloo only): " + why);
            return "gloo";
        }
    }

    private static boolean hasC10dHeaders(LibTorch torch) {
        return findInclude(torch.includeDirs(), "torch/csrc/distributed/c10d/ProcessGroupGloo.hpp") != null
                || findInclude(List.of(torch.root().resolve("include")), "torch/csrc/distributed/c10d/ProcessGroupGloo.hpp") != null;
    }

    /**
     * The folder holding gloo's headers: libtorch's own include folders first (a source build may ship them),
     * then the system's (Debian's libgloo-dev; pip's torch bundles gloo without headers, and the
     * ProcessGroupGloo header only needs gloo's declarations).
     */
    static Path glooInclude(LibTorch torch) {
        List<Path> dirs = new ArrayList<>(torch.includeDirs());
        dirs.add(torch.root().resolve("include"));
        dirs.addAll(compilerIncludePath());
        dirs.addAll(List.of(Path.of("/usr/local/include"), Path.of("/usr/include")));
        return findInclude(dirs, "gloo/algorithm.h");
    }

    /** NCCL's header: libtorch's include folders, CUDA's, pip's nvidia-nccl package beside torch, the system's. */
    static Path ncclInclude(LibTorch torch) {
        List<Path> dirs = new ArrayList<>(torch.includeDirs());
        if (torch.cudaInclude() != null) dirs.add(torch.cudaInclude());
        Path parent = torch.root().getParent();
        if (parent != null) {
            dirs.add(parent.resolve("nvidia/nccl/include"));
            for (String cu : List.of("cu13", "cu12")) dirs.add(parent.resolve("nvidia").resolve(cu).resolve("include"));
        }
        dirs.addAll(compilerIncludePath());
        dirs.addAll(List.of(Path.of("/usr/local/include"), Path.of("/usr/include")));
        return findInclude(dirs, "nccl.h");
    }

    /** The folders of CPLUS_INCLUDE_PATH and CPATH (the compiler searches them too), e.g. for headers unpacked by hand. */
    static List<Path> compilerIncludePath() {
        List<Path> out = new ArrayList<>();
        for (String var : List.of("CPLUS_INCLUDE_PATH", "CPATH")) {
            String v = System.getenv(var);
            if (v == null) continue;
            for (String p : v.split(":")) if (!p.isBlank()) out.add(Path.of(p));
        }
        return out;
    }

    private static Path findInclude(List<Path> dirs, String file) {
        for (Path d : dirs) if (Files.exists(d.resolve(file))) return d;
        return null;
    }

    // g++ searches these anyway; naming one with -I would move it ahead of libtorch's own folders.
    private static boolean isDefaultInclude(Path dir) {
        return dir.equals(Path.of("/usr/include")) || dir.equals(Path.of("/usr/local/include"));
    }

    private static List<String> compileAll(List<String> common, List<String> sources, Path work, boolean parallel) throws IOException {
        int cores = Math.max(1, Runtime.getRuntime().availableProcessors());
        List<String> objects = new ArrayList<>();
        List<Process> running = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String src : sources) {
            String obj = work.resolve(src.replace(".cpp", ".o")).toString();
            List<String> cmd = new ArrayList<>(common);
            cmd.addAll(List.of("-c", work.resolve(src).toString(), "-o", obj));
            Process p = start(new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true)
                    .redirectOutput(work.resolve(src + ".log").toFile()));
            running.add(p);
            names.add(src);
            objects.add(obj);
            if (!parallel || running.size() >= cores) waitAll(running, names, work);
        }
        waitAll(running, names, work);
        return objects;
    }

    private static void waitAll(List<Process> running, List<String> names, Path work) throws IOException {
        try {
            for (int i = 0; i < running.size(); i++) {
                Process p = running.get(i);
                if (!p.waitFor(30, TimeUnit.MINUTES)) { p.destroyForcibly(); throw new IOException("compiler timed out on " + names.get(i)); }
                if (p.exitValue() != 0) throw new StepFailed("compiling " + names.get(i), work.resolve(names.get(i) + ".log"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while compiling");
        } finally {
            running.clear();
            names.clear();
        }
    }

    private static void run(List<String> cmd, Path work, String what) throws IOException {
        Path log = work.resolve(what + ".log");
        Process p = start(new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()));
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) throw new StepFailed(what, log);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted during " + what);
        }
    }

    /** Starts a compiler or linker; a missing one is named with the fix rather than as "error=2". */
    private static Process start(ProcessBuilder pb) throws IOException {
        try {
            return pb.start();
        } catch (IOException e) {
            String cxx = pb.command().getFirst();
            throw new BuildError("the C++ compiler '" + cxx + "' cannot be run; install g++ (apt-get install g++)"
                    + " or set CXX to a C++ compiler", e);
        }
    }

    // libtorch 2.x headers need C++17; newer releases moved to C++20.
    static String cxxStandard(LibTorch torch) { return torch.atLeast(2, 10) ? "c++20" : "c++17"; }

    static List<String> allSources() {
        List<String> all = new ArrayList<>(HEADERS);
        all.addAll(CORE_SOURCES);
        all.addAll(CUDA_SOURCES);
        all.addAll(DIST_SOURCES);
        all.addAll(NCCL_SOURCES);
        return all;
    }

    static byte[] source(String name) {
        try (InputStream in = ShimBuilder.class.getResourceAsStream("/native/" + name)) {
            if (in == null) throw new IllegalStateException("native source native/" + name + " is missing from the jar; rebuild with 'mvn package'");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String cacheKey(LibTorch torch) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (String f : allSources()) { md.update(f.getBytes(StandardCharsets.UTF_8)); md.update(source(f)); }
            md.update((torch.version() + "|" + torch.libDir() + "|" + torch.cxx11Abi() + "|" + torch.cudaInclude()).getBytes(StandardCharsets.UTF_8));
            // Headers that turn on the optional distributed part: installing them later builds a new shim.
            md.update(("|gloo=" + glooInclude(torch) + "|nccl=" + (torch.hasCudaLibrary() ? ncclInclude(torch) : null))
                    .getBytes(StandardCharsets.UTF_8));
            String hash = HexFormat.of().formatHex(md.digest()).substring(0, 16);
            return "torch-" + torch.version() + (torch.hasCudaLibrary() ? "-cuda" : "-cpu") + "-" + hash;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String tail(String s, int n) { return s.length() <= n ? s : "..." + s.substring(s.length() - n); }

    /** The first line of compiler output that reports an error, else its first line. */
    private static String firstError(String log) {
        String[] lines = log.split("\n");
        for (String l : lines) if (l.contains("error")) return l.trim();
        return lines[0].trim();
    }

    private static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }
}
