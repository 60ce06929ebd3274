package org.lorascripts.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The loaded shim: locates libtorch, builds the shim if needed, loads it once per process, and hands
 * out downcall handles. Binding classes resolve their handles once into static finals.
 */
public final class Native {
    public static final ValueLayout.OfLong PTR = ValueLayout.JAVA_LONG;  // handles cross as 64-bit addresses
    public static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE;
    public static final MemoryLayout ADDR = ValueLayout.ADDRESS;

    private static volatile State state;

    private record State(LibTorch torch, Path library, SymbolLookup lookup, Linker linker) {}

    private Native() {}

    private static State state() {
        State s = state;
        if (s != null) return s;
        synchronized (Native.class) {
            if (state == null) {
                LibTorch torch;
                try {
                    torch = LibTorchLocator.locate();
                } catch (LibTorchLocator.NotFound e) {
                    throw new NativeUnavailableException(e.getMessage(), e);
                }
                Path lib;
                try {
                    lib = ShimBuilder.ensureBuilt(torch);
                } catch (RuntimeException e) {
                    throw new NativeUnavailableException("the native shim did not build against " + torch.describe() + ": "
                            + e.getMessage() + "\n  fix: install g++ (apt-get install g++) or point LIBTORCH at another libtorch; ./lora doctor checks it", e);
                }
                SymbolLookup lookup;
                try {
                    lookup = SymbolLookup.libraryLookup(lib, Arena.global());
                } catch (RuntimeException e) {
                    throw new NativeUnavailableException("cannot load " + lib + ": " + e.getMessage()
                            + "\n  fix: delete " + lib.getParent() + " to rebuild it; ./lora doctor checks the installation", e);
                }
                State s2 = new State(torch, lib, lookup, Linker.nativeLinker());
                state = s2;
                EnumCodes.verify();
            }
            return state;
        }
    }

    /** Locates libtorch, builds the shim if needed and loads it; throws {@link NativeUnavailableException} with a fix. */
    public static void load() { state(); }

    public static LibTorch libTorch() { return state().torch(); }

    public static Path libraryPath() { return state().library(); }

    /** A downcall returning the int status, with the given parameter layouts. */
    public static MethodHandle fn(String name, MemoryLayout... params) {
        return handle(name, FunctionDescriptor.of(I32, params));
    }

    /** Like {@link #fn} but empty when the shim was built without that symbol (e.g. CUDA helpers). */
    public static Optional<MethodHandle> optionalFn(String name, MemoryLayout... params) {
        State s = state();
        return s.lookup().find(name).map(a -> s.linker().downcallHandle(a, FunctionDescriptor.of(I32, params)));
    }

    public static MethodHandle handle(String name, FunctionDescriptor fd) {
        State s = state();
        MemorySegment addr = s.lookup().find(name).orElseThrow(() ->
                new IllegalStateException("native symbol " + name + " is missing from " + s.library() + "; delete that folder to rebuild"));
        return s.linker().downcallHandle(addr, fd);
    }

    public static Linker linker() { return state().linker(); }
}
