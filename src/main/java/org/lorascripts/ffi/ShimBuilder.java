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
    static final List<String> CORE_SOURCES = List.of("ls_tensor.cpp", "ls_math.cpp", "ls_nn.cpp", "ls_autograd.cpp");
    static final List<String> CUDA_SOURCES = List.of("ls_cuda.cpp");
    static final List<String> HEADERS = List.of("ls_common.h");
    static final String LIBRARY_NAME = "liblsshim.so";

    private ShimBuilder() {}

    /** Where the library for this libtorch would be (built or not). */
    public static Path libraryPath(LibTorch torch) {
        return NativeCache.root().resolve("native").resolve(cacheKey(torch)).resolve(LIBRARY_NAME);
    }

    public static boolean isBuilt(LibTorch torch) { return Files.exists(libraryPath(torch)); }

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
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build the native shim in " + dir + ": " + e.getMessage(), e);
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
                    System.err.println("lora: CUDA helpers (memory statistics, device names) not built: " + firstLine(e.getMessage()));
                    withCuda = false;
                }
            }
            List<String> link = new ArrayList<>(List.of(cxx, "-shared", "-o", work.resolve(LIBRARY_NAME).toString()));
            link.addAll(objects);
            link.addAll(List.of("-L" + torch.libDir(), "-Wl,-rpath," + torch.libDir(), "-Wl,--no-as-needed"));
            link.addAll(List.of("-ltorch", "-ltorch_cpu", "-lc10"));
            // Linking libtorch_cuda (not only needing it) is what registers the CUDA backend at load time.
            if (torch.hasCudaLibrary()) link.add("-ltorch_cuda");
            if (withCuda) link.add("-lc10_cuda");
            run(link, work, "link");
            Files.writeString(work.resolve("BUILD-INFO.txt"), torch.describe() + "\ncuda helpers: " + withCuda + "\n");
            Files.createDirectories(dir.getParent());
            if (Files.exists(dir)) deleteTree(dir);
            Files.move(work, dir, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            if (Files.exists(work)) deleteTree(work);
        }
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
            Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true)
                    .redirectOutput(work.resolve(src + ".log").toFile()).start();
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
                if (p.exitValue() != 0) {
                    String log = Files.readString(work.resolve(names.get(i) + ".log"));
                    throw new IOException("compiling " + names.get(i) + " failed:\n" + tail(log, 4000));
                }
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
        Process p = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IOException(what + " failed:\n" + tail(Files.readString(log), 4000));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted during " + what);
        }
    }

    // libtorch 2.x headers need C++17; newer releases moved to C++20.
    static String cxxStandard(LibTorch torch) { return torch.atLeast(2, 10) ? "c++20" : "c++17"; }

    static List<String> allSources() {
        List<String> all = new ArrayList<>(HEADERS);
        all.addAll(CORE_SOURCES);
        all.addAll(CUDA_SOURCES);
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
            String hash = HexFormat.of().formatHex(md.digest()).substring(0, 16);
            return "torch-" + torch.version() + (torch.hasCudaLibrary() ? "-cuda" : "-cpu") + "-" + hash;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String tail(String s, int n) { return s.length() <= n ? s : "..." + s.substring(s.length() - n); }

    private static String firstLine(String s) {
        if (s == null) return "";
        String[] lines = s.split("\n");
        for (String l : lines) if (l.contains("error")) return l.trim();
        return lines.length > 1 ? lines[1].trim() : lines[0].trim();
    }

    private static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }
}
