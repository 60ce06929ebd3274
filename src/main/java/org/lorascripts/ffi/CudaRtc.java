package org.lorascripts.ffi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Run-time compilation and launch of CUDA kernels: NVRTC (the compiler library that ships with CUDA and
 * with PyTorch's CUDA wheels) turns CUDA C++ source into a cubin for this GPU, and the CUDA driver API
 * (libcuda, installed with the driver) loads and launches it. Both libraries are opened here through the
 * foreign linker, by their stable C ABI, so no CUDA headers or compiler are needed at build time; the
 * shim only contributes libtorch's current stream ({@link CudaApi#currentStream}). Every entry point is
 * optional: {@link #unavailableReason()} says why it cannot be used on this machine.
 */
public final class CudaRtc {
    private CudaRtc() {}

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG;
    private static final java.lang.foreign.AddressLayout ADDR = ValueLayout.ADDRESS;

    private record Lib(MethodHandle cuModuleLoadData, MethodHandle cuModuleGetFunction, MethodHandle cuLaunchKernel,
                       MethodHandle cuCtxGetCurrent, MethodHandle cuGetErrorString, MethodHandle cuInit,
                       MethodHandle nvrtcVersion, MethodHandle nvrtcCreateProgram, MethodHandle nvrtcCompileProgram,
                       MethodHandle nvrtcGetProgramLogSize, MethodHandle nvrtcGetProgramLog, MethodHandle nvrtcGetCUBINSize,
                       MethodHandle nvrtcGetCUBIN, MethodHandle nvrtcDestroyProgram, MethodHandle nvrtcGetErrorString,
                       Path nvrtcPath) {}

    private static volatile Object state;   // Lib, or the String reason it is unavailable

    private static Object state() {
        Object s = state;
        if (s == null) {
            synchronized (CudaRtc.class) {
                if (state == null) state = load();
                s = state;
            }
        }
        return s;
    }

    /** Empty when kernels can be compiled and launched here; else why not, in a few words. */
    public static Optional<String> unavailableReason() {
        Object s = state();
        return s instanceof String why ? Optional.of(why) : Optional.empty();
    }

    private static Lib lib() {
        Object s = state();
        if (s instanceof String why) throw new NativeUnavailableException("run-time CUDA compilation is unavailable: " + why, null);
        return (Lib) s;
    }

    private static Object load() {
        try {
            if (!CudaApi.streamsAvailable()) return "the native layer was built without CUDA";
        } catch (RuntimeException | Error e) {
            return "the native layer is not loaded";
        }
        Linker linker = Linker.nativeLinker();
        SymbolLookup cuda;
        try {
            cuda = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
        } catch (IllegalArgumentException e) {
            return "no CUDA driver library (libcuda.so.1)";
        }
        Path nvrtcPath = null;
        SymbolLookup nvrtc = null;
        for (Path p : nvrtcCandidates()) {
            try {
                nvrtc = SymbolLookup.libraryLookup(p, Arena.global());
                nvrtcPath = p;
                break;
            } catch (IllegalArgumentException e) {
                // try the next one
            }
        }
        if (nvrtc == null) {
            for (String name : List.of("libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2")) {
                try {
                    nvrtc = SymbolLookup.libraryLookup(name, Arena.global());
                    nvrtcPath = Path.of(name);
                    break;
                } catch (IllegalArgumentException e) {
                    // try the next one
                }
            }
        }
        if (nvrtc == null) return "no NVRTC library (libnvrtc.so) beside libtorch, in pip's nvidia packages or in CUDA_HOME";
        try {
            SymbolLookup c = cuda, n = nvrtc;
            java.util.function.BiFunction<String, FunctionDescriptor, MethodHandle> cu = (name, fd) ->
                    linker.downcallHandle(c.find(name).orElseThrow(() -> new IllegalStateException("libcuda lacks " + name)), fd);
            java.util.function.BiFunction<String, FunctionDescriptor, MethodHandle> nv = (name, fd) ->
                    linker.downcallHandle(n.find(name).orElseThrow(() -> new IllegalStateException("libnvrtc lacks " + name)), fd);
            Lib lib = new Lib(
                    cu.apply("cuModuleLoadData", FunctionDescriptor.of(I32, ADDR, ADDR)),
                    cu.apply("cuModuleGetFunction", FunctionDescriptor.of(I32, ADDR, ADDR, ADDR)),
                    cu.apply("cuLaunchKernel", FunctionDescriptor.of(I32, ADDR, I32, I32, I32, I32, I32, I32, I32, ADDR, ADDR, ADDR)),
                    cu.apply("cuCtxGetCurrent", FunctionDescriptor.of(I32, ADDR)),
                    cu.apply("cuGetErrorString", FunctionDescriptor.of(I32, I32, ADDR)),
                    cu.apply("cuInit", FunctionDescriptor.of(I32, I32)),
                    nv.apply("nvrtcVersion", FunctionDescriptor.of(I32, ADDR, ADDR)),
                    nv.apply("nvrtcCreateProgram", FunctionDescriptor.of(I32, ADDR, ADDR, ADDR, I32, ADDR, ADDR)),
                    nv.apply("nvrtcCompileProgram", FunctionDescriptor.of(I32, ADDR, I32, ADDR)),
                    nv.apply("nvrtcGetProgramLogSize", FunctionDescriptor.of(I32, ADDR, ADDR)),
                    nv.apply("nvrtcGetProgramLog", FunctionDescriptor.of(I32, ADDR, ADDR)),
                    nv.apply("nvrtcGetCUBINSize", FunctionDescriptor.of(I32, ADDR, ADDR)),
                    nv.apply("nvrtcGetCUBIN", FunctionDescriptor.of(I32, ADDR, ADDR)),
                    nv.apply("nvrtcDestroyProgram", FunctionDescriptor.of(I32, ADDR)),
                    nv.apply("nvrtcGetErrorString", FunctionDescriptor.of(ADDR, I32)),
                    nvrtcPath);
            int rc = (int) lib.cuInit().invokeExact(0);
            if (rc != 0) return "cuInit failed (CUDA error " + rc + ")";
            return lib;
        } catch (Throwable t) {
            return "the CUDA driver or NVRTC library could not be bound: " + t.getMessage();
        }
    }

    /** libnvrtc files to try, most specific first: $LORA_NVRTC, libtorch's own folder, pip's nvidia packages, CUDA_HOME. */
    static List<Path> nvrtcCandidates() {
        List<Path> out = new ArrayList<>();
        String explicit = System.getenv("LORA_NVRTC");
        if (explicit != null && !explicit.isBlank()) out.add(Path.of(explicit));
        List<Path> dirs = new ArrayList<>();
        try {
            LibTorch t = Native.libTorch();
            dirs.add(t.libDir());
            Path site = t.root().getParent();
            if (site != null && Files.isDirectory(site.resolve("nvidia"))) {
                try (Stream<Path> s = Files.walk(site.resolve("nvidia"), 3)) {
                    s.filter(p -> p.getFileName().toString().equals("lib") && Files.isDirectory(p)).forEach(dirs::add);
                }
            }
        } catch (RuntimeException | IOException e) {
            // libtorch not located: the system folders below still apply
        }
        for (String home : new String[] {System.getenv("CUDA_HOME"), System.getenv("CUDA_PATH"), "/usr/local/cuda"}) {
            if (home != null && !home.isBlank()) dirs.add(Path.of(home, "lib64"));
        }
        for (Path d : dirs) {
            if (!Files.isDirectory(d)) continue;
            try (Stream<Path> s = Files.list(d)) {
                s.filter(p -> {
                    String f = p.getFileName().toString();
                    return f.startsWith("libnvrtc") && f.contains(".so") && !f.contains("builtins");
                }).sorted(Comparator.comparing((Path p) -> p.getFileName().toString().length()).reversed()).forEach(out::add);
            } catch (IOException e) {
                // unreadable folder: skip it
            }
        }
        return out;
    }

    /** NVRTC's version as {major, minor}. */
    public static int[] nvrtcVersion() {
        Lib l = lib();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment maj = a.allocate(I32), min = a.allocate(I32);
            nvrtcCheck(l, (int) l.nvrtcVersion().invokeExact(maj, min), "nvrtcVersion");
            return new int[] {maj.get(I32, 0), min.get(I32, 0)};
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Where NVRTC was loaded from. */
    public static Path nvrtcPath() { return lib().nvrtcPath(); }

    /** A compile error with NVRTC's log. */
    public static final class CompileException extends RuntimeException {
        public CompileException(String msg) { super(msg); }
    }

    /** Compiles CUDA C++ {@code source} to a cubin with the given options (e.g. {@code --gpu-architecture=sm_90}). */
    public static byte[] compile(String source, String name, List<String> options) {
        Lib l = lib();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prog = a.allocate(ADDR);
            nvrtcCheck(l, (int) l.nvrtcCreateProgram().invokeExact(prog, a.allocateFrom(source), a.allocateFrom(name), 0,
                    MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram");
            MemorySegment p = prog.get(ADDR, 0);
            try {
                MemorySegment opts = a.allocate(ADDR, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) opts.setAtIndex(ADDR, i, a.allocateFrom(options.get(i)));
                int rc = (int) l.nvrtcCompileProgram().invokeExact(p, options.size(), opts);
                if (rc != 0) {
                    MemorySegment size = a.allocate(I64);
                    String log = "";
                    if ((int) l.nvrtcGetProgramLogSize().invokeExact(p, size) == 0 && size.get(I64, 0) > 1) {
                        MemorySegment buf = a.allocate(size.get(I64, 0));
                        if ((int) l.nvrtcGetProgramLog().invokeExact(p, buf) == 0) log = buf.getString(0);
                    }
                    throw new CompileException("NVRTC could not compile " + name + " (" + errorString(l, rc) + "): " + log.strip());
                }
                MemorySegment size = a.allocate(I64);
                nvrtcCheck(l, (int) l.nvrtcGetCUBINSize().invokeExact(p, size), "nvrtcGetCUBINSize");
                long n = size.get(I64, 0);
                if (n <= 0 || n > (1L << 30)) throw new IllegalStateException("NVRTC returned a cubin of " + n + " bytes");
                MemorySegment buf = a.allocate(n);
                nvrtcCheck(l, (int) l.nvrtcGetCUBIN().invokeExact(p, buf), "nvrtcGetCUBIN");
                return buf.toArray(ValueLayout.JAVA_BYTE);
            } finally {
                int ignored = (int) l.nvrtcDestroyProgram().invokeExact(prog);
            }
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Loads a cubin into the current context of {@code device} and returns the named kernel (a CUfunction). */
    public static MemorySegment loadFunction(int device, byte[] cubin, String kernel) {
        Lib l = lib();
        ensureContext(l, device);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment image = a.allocate(cubin.length + 1L, 16);
            MemorySegment.copy(MemorySegment.ofArray(cubin), 0, image, 0, cubin.length);
            MemorySegment module = a.allocate(ADDR);
            cuCheck(l, (int) l.cuModuleLoadData().invokeExact(module, image), "cuModuleLoadData");
            MemorySegment fn = a.allocate(ADDR);
            cuCheck(l, (int) l.cuModuleGetFunction().invokeExact(fn, module.get(ADDR, 0), a.allocateFrom(kernel)), "cuModuleGetFunction(" + kernel + ")");
            return fn.get(ADDR, 0);
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /**
     * Launches {@code fn} on libtorch's current stream of {@code device}. {@code params} holds one pointer
     * per kernel argument, each to that argument's value (the driver API's kernelParams).
     */
    public static void launch(int device, MemorySegment fn, long[] grid, long[] block, int sharedBytes, MemorySegment params) {
        Lib l = lib();
        ensureContext(l, device);
        MemorySegment stream = CudaApi.currentStream(device);
        try {
            cuCheck(l, (int) l.cuLaunchKernel().invokeExact(fn, (int) grid[0], (int) grid[1], (int) grid[2],
                    (int) block[0], (int) block[1], (int) block[2], sharedBytes, stream, params, MemorySegment.NULL), "cuLaunchKernel");
        } catch (Throwable t) { throw Calls.rethrow(t); }
    }

    /** Per thread, the devices whose context was found current (a launch then needs no driver query). */
    private static final ThreadLocal<java.util.BitSet> CONTEXT_READY = ThreadLocal.withInitial(java.util.BitSet::new);

    private static void ensureContext(Lib l, int device) {
        java.util.BitSet ready = CONTEXT_READY.get();
        if (ready.get(device)) return;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ctx = a.allocate(ADDR);
            int rc = (int) l.cuCtxGetCurrent().invokeExact(ctx);
            if (rc != 0 || ctx.get(ADDR, 0).address() == 0) CudaApi.initContext(device);
        } catch (Throwable t) { throw Calls.rethrow(t); }
        ready.set(device);
    }

    private static void cuCheck(Lib l, int rc, String what) throws Throwable {
        if (rc == 0) return;
        String msg = "error " + rc;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(ADDR);
            if ((int) l.cuGetErrorString().invokeExact(rc, s) == 0 && s.get(ADDR, 0).address() != 0) {
                msg = s.get(ADDR, 0).reinterpret(1024).getString(0);
            }
        }
        throw new IllegalStateException(what + " failed: " + msg);
    }

    private static void nvrtcCheck(Lib l, int rc, String what) throws Throwable {
        if (rc != 0) throw new IllegalStateException(what + " failed: " + errorString(l, rc));
    }

    private static String errorString(Lib l, int rc) throws Throwable {
        MemorySegment s = (MemorySegment) l.nvrtcGetErrorString().invokeExact(rc);
        return s.address() == 0 ? "NVRTC error " + rc : s.reinterpret(1024).getString(0);
    }
}
