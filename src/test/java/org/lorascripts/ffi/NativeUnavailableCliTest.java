package org.lorascripts.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A missing or broken libtorch, run through the real entry point in a child JVM (a failed native load
 * stays failed for the whole process, so it cannot happen in the test JVM): every case ends in exactly
 * one {@code error:} line that names the problem and the fix, no stack trace, exit code 2.
 */
class NativeUnavailableCliTest {
    @TempDir Path dir;

    record Result(int code, String out, String err) {
        List<String> errorLines() { return err.lines().filter(l -> l.startsWith("error:")).toList(); }

        /** The one error line; fails unless there is exactly one and no stack frame anywhere. */
        String onlyError() {
            assertEquals(1, errorLines().size(), "exactly one error line:\n" + err);
            assertFalse(err.contains("\tat ") || out.contains("\tat "), "no stack trace:\n" + err);
            assertFalse(err.contains("Exception in thread"), err);
            return errorLines().getFirst();
        }
    }

    /** Runs org.lorascripts.cli.Main with the test classpath under the running java, env added to this one's. */
    Result lora(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xss8m", "-cp", System.getProperty("java.class.path"),
                "org.lorascripts.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("LORA_DEBUG");
        pb.environment().putAll(env);
        Path out = dir.resolve("stdout.txt"), err = dir.resolve("stderr.txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("lora " + String.join(" ", args) + " did not finish");
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private String[] trainQuickstart(String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--config", "examples/quickstart.yaml", "--set", "output_dir=" + dir.resolve("run")));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    /** A folder that looks like an unpacked libtorch of this version (headers' version file, an empty libtorch.so). */
    private Path fakeLibTorch(String name, String version) throws IOException {
        Path root = dir.resolve(name);
        Files.createDirectories(root.resolve("include/torch"));
        Files.createDirectories(root.resolve("lib"));
        Files.writeString(root.resolve("lib/libtorch.so"), "");
        if (version != null) {
            String[] v = version.split("\\.");
            Files.writeString(root.resolve("include/torch/version.h"), "#define TORCH_VERSION_MAJOR " + v[0]
                    + "\n#define TORCH_VERSION_MINOR " + v[1] + "\n#define TORCH_VERSION_PATCH " + v[2] + "\n");
        }
        return root;
    }

    @Test void libtorchFolderThatDoesNotExistIsNamedByDoctorAndTrain() throws Exception {
        Map<String, String> env = Map.of("LIBTORCH", "/nonexistent");
        Result doctor = lora(env, "doctor");
        assertEquals(2, doctor.code(), doctor.err());
        assertTrue(doctor.out().startsWith("java "), "doctor still reports what it can:\n" + doctor.out());
        assertTrue(doctor.out().contains("\ncache "), doctor.out());
        assertTrue(doctor.out().contains("libtorch     not found"), doctor.out());
        String line = doctor.onlyError();
        assertTrue(line.startsWith("error: LIBTORCH=/nonexistent does not exist; point LIBTORCH at"), line);

        Result train = lora(env, trainQuickstart());
        assertEquals(2, train.code(), train.err());
        assertEquals(line, train.onlyError(), "the same line, not another libtorch found instead");
    }

    @Test void debugShowsTheTrace() throws Exception {
        Result r = lora(Map.of("LIBTORCH", "/nonexistent"), trainQuickstart("--debug"));
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: LIBTORCH=/nonexistent"), r.err());
        assertTrue(r.err().contains("\tat org.lorascripts."), r.err());
        Result env = lora(Map.of("LIBTORCH", "/nonexistent", "LORA_DEBUG", "1"), "doctor");
        assertTrue(env.err().contains("\tat org.lorascripts."), env.err());
    }

    @Test void libtorchOlderThanSupportedIsRefusedBeforeCompiling() throws Exception {
        Path old = fakeLibTorch("libtorch-1.10", "1.10.2");
        Result r = lora(Map.of("LIBTORCH", old.toString(), "LORA_CACHE_DIR", dir.resolve("cache").toString()), trainQuickstart());
        assertEquals(2, r.code(), r.err());
        String line = r.onlyError();
        assertTrue(line.startsWith("error: libtorch 1.10.2 ($LIBTORCH, " + old.resolve("lib") + ", CPU build) is older than 1.13"), line);
        assertTrue(line.contains("pip install torch"), line);
        assertFalse(Files.exists(dir.resolve("cache/native")), "nothing was compiled");

        Path unknown = fakeLibTorch("libtorch-headless", null);
        Result d = lora(Map.of("LIBTORCH", unknown.toString(), "LORA_CACHE_DIR", dir.resolve("cache").toString()), "doctor");
        assertEquals(2, d.code());
        assertTrue(d.onlyError().startsWith("error: cannot read the version of the libtorch in " + unknown), d.err());
    }

    @Test void shimThatDoesNotCompileIsOneLineWithTheCompilerLog() throws Exception {
        Path torch = fakeLibTorch("libtorch-1.13", "1.13.1");
        Path cache = dir.resolve("cache");
        Result r = lora(Map.of("LIBTORCH", torch.toString(), "LORA_CACHE_DIR", cache.toString(), "CXX", "false"), trainQuickstart());
        assertEquals(2, r.code(), r.err());
        String line = r.onlyError();
        assertTrue(line.startsWith("error: the native shim did not build against libtorch 1.13.1 ($LIBTORCH"), line);
        assertTrue(line.contains(": compiling ls_tensor.cpp failed (compiler output: " + cache.resolve("native")), line);
        assertTrue(line.endsWith("point LIBTORCH at libtorch 1.13 or 2.x"), line);
        try (var logs = Files.list(cache.resolve("native"))) {
            assertTrue(logs.anyMatch(f -> f.getFileName().toString().endsWith("-error.log")), "the compiler output is kept");
        }

        Result missing = lora(Map.of("LIBTORCH", torch.toString(), "LORA_CACHE_DIR", cache.toString(), "CXX", "/nonexistent/c++"), "doctor");
        assertEquals(2, missing.code());
        assertTrue(missing.onlyError().endsWith(": the C++ compiler '/nonexistent/c++' cannot be run; install g++ (apt-get install g++)"
                + " or set CXX to a C++ compiler"), missing.err());
    }

    @Test void shimThatDoesNotLoadSaysWhichFolderToDelete() throws Exception {
        Path torch = fakeLibTorch("libtorch-1.13", "1.13.1");
        Path cache = dir.resolve("cache");
        // Where the child will look for the compiled shim: the cache key does not depend on the cache folder.
        LibTorch t = LibTorchLocator.fromRoot(torch, "$LIBTORCH").orElseThrow();
        Path lib = cache.resolve(NativeCache.root().relativize(ShimBuilder.libraryPath(t)));
        Files.createDirectories(lib.getParent());
        Files.writeString(lib, "not an ELF file");
        Map<String, String> env = Map.of("LIBTORCH", torch.toString(), "LORA_CACHE_DIR", cache.toString());
        for (String[] args : List.of(new String[] {"doctor"}, trainQuickstart())) {
            Result r = lora(env, args);
            assertEquals(2, r.code(), r.err());
            String line = r.onlyError();
            assertTrue(line.startsWith("error: cannot load the native shim " + lib + " ("), line);
            assertTrue(line.endsWith("delete " + lib.getParent() + " so the next run rebuilds it, then run ./lora doctor"), line);
        }
    }
}
