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
    /**
     * The first load failure, rethrown on every later call: binding classes load the shim from their
     * static initialisers, and after one failed the JVM only reports "Could not initialize class"; this
     * keeps the real reason (see {@link #failure()}) and avoids locating and compiling again.
     */
    private static volatile NativeUnavailableException failure;

    private record State(LibTorch torch, Path library, SymbolLookup lookup, Linker linker) {}

    private Native() {}

    private static State state() {
        State s = state;
        if (s != null) return s;
        synchronized (Native.class) {
            if (state != null) return state;
            if (failure != null) throw new NativeUnavailableException(failure.getMessage(), failure);
            try {
                state = loadState();
                try {
                    EnumCodes.verify();  // after state is set: it calls back into fn()
                } catch (RuntimeException e) {
                    Path lib = state.library();
                    state = null;
                    throw new NativeUnavailableException("the native shim " + lib + " does not match this build ("
                            + firstLine(e.getMessage()) + "); delete " + lib.getParent() + " so the next run rebuilds it", e);
                }
            } catch (NativeUnavailableException e) {
                failure = e;
                throw e;
            }
            return state;
        }
    }

    private static State loadState() {
        LibTorch torch;
        try {
            torch = LibTorchLocator.locate();
        } catch (LibTorchLocator.NotFound e) {
            throw new NativeUnavailableException(e.getMessage(), e);
        }
        torch.unsupportedReason().ifPresent(reason -> { throw new NativeUnavailableException(reason, null); });
        Path lib;
        try {
            lib = ShimBuilder.ensureBuilt(torch);
        } catch (RuntimeException e) {
            // ShimBuilder's messages carry their fix (compiler missing, compile failed, cache not writable).
            throw new NativeUnavailableException("the native shim did not build against " + torch.describe() + ": "
                    + firstLine(e.getMessage()), e);
        }
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup(lib, Arena.global());
        } catch (RuntimeException e) {
            throw new NativeUnavailableException("cannot load the native shim " + lib + " (" + firstLine(e.getMessage())
                    + "); delete " + lib.getParent() + " so the next run rebuilds it, then run ./lora doctor", e);
        }
        return new State(torch, lib, lookup, Linker.nativeLinker());
    }

    /** Why loading failed in this process, if it did (for error reports of classes that could not initialise). */
    public static Optional<NativeUnavailableException> failure() { return Optional.ofNullable(failure); }

    private static String firstLine(String s) {
        if (s == null) return "no message";
        return s.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse("no message");
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
