package org.lorascripts.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.lorascripts.ffi.ProfilerApi;

/**
 * libtorch's profiler around a region: operators on the CPU and, with {@code cuda}, the device's
 * kernels and copies. {@link #stop} returns the events and can also save a Chrome trace (chrome://tracing,
 * Perfetto) where libtorch was built with Kineto. Started {@link #startWithMemory with memory}, it also
 * records every allocation and free of the allocators (libtorch's profile_memory), each with the operators
 * that were running ({@link #memoryEvents}); that needs a libtorch built with Kineto. Benchmarks use it for
 * their per-step breakdown; training never starts it.
 */
public final class Profiler implements AutoCloseable {
    /** One recorded event: an operator on the CPU ({@code device == 0}) or a kernel/copy on a GPU ({@code 1} for CUDA). */
    public record Event(String name, int device, int activity, long startNs, long durationNs) {
        public boolean onGpu() { return device != 0; }
    }

    /**
     * One allocation ({@code bytes > 0}) or free ({@code bytes < 0}) of the block at {@code address} on a device
     * type ({@code 0} CPU, {@code 1} CUDA); {@code ops} are the operators running when it happened, outermost
     * first (e.g. {@code autograd::engine::evaluate_function: MmBackward0 > aten::mm}), empty outside any operator.
     */
    public record MemoryEvent(long timeNs, long address, long bytes, int device, List<String> ops) {
        public MemoryEvent { ops = List.copyOf(ops); }

        /** The outermost operator, or {@code "-"} outside any. */
        public String outerOp() { return ops.isEmpty() ? "-" : ops.get(0); }

        /**
         * Reads the memory table the native layer writes: time, address, signed size, device type, and the
         * operators joined by {@code " > "} ({@code -} for none), tab-separated; lines of another shape are skipped.
         */
        public static List<MemoryEvent> parse(List<String> lines) {
            List<MemoryEvent> out = new ArrayList<>();
            for (String line : lines) {
                String[] f = line.split("\t", -1);
                if (f.length != 5) continue;
                List<String> ops = f[4].equals("-") || f[4].isEmpty() ? List.of() : List.of(f[4].split(" > "));
                out.add(new MemoryEvent(Long.parseLong(f[0]), Long.parseUnsignedLong(f[1]), Long.parseLong(f[2]), Integer.parseInt(f[3]), ops));
            }
            return out;
        }
    }

    private final boolean memory;
    private List<MemoryEvent> memoryEvents = List.of();
    private boolean open = true;

    private Profiler(boolean memory) { this.memory = memory; }

    public static boolean isAvailable() { return ProfilerApi.available(); }

    /** Whether {@link #startWithMemory} is there (the memory table itself also needs a libtorch built with Kineto). */
    public static boolean isMemoryAvailable() { return ProfilerApi.memoryAvailable(); }

    public static Profiler start(boolean cuda) {
        ProfilerApi.start(cuda);
        return new Profiler(false);
    }

    /** As {@link #start}, also recording allocations and frees: {@link #memoryEvents} after {@link #stop}. */
    public static Profiler startWithMemory(boolean cuda) {
        ProfilerApi.startWithMemory(cuda);
        return new Profiler(true);
    }

    /** The allocations and frees of the region, in the native layer's order (by operator, not by time); empty before stop. */
    public List<MemoryEvent> memoryEvents() { return memoryEvents; }

    /** Stops recording and returns the events; saves the Chrome trace to {@code chromeTrace} unless null. */
    public List<Event> stop(Path chromeTrace) {
        if (!open) throw new IllegalStateException("profiler already stopped");
        open = false;
        try {
            Path tsv = Files.createTempFile("lora-profile", ".tsv");
            Path mem = memory ? Files.createTempFile("lora-profile-memory", ".tsv") : null;
            try {
                String trace = chromeTrace == null ? null : chromeTrace.toAbsolutePath().toString();
                if (memory) {
                    ProfilerApi.stopWithMemory(tsv.toString(), trace, mem.toString());
                    memoryEvents = MemoryEvent.parse(Files.readAllLines(mem));
                } else {
                    ProfilerApi.stop(tsv.toString(), trace);
                }
                List<Event> events = new ArrayList<>();
                for (String line : Files.readAllLines(tsv)) {
                    String[] f = line.split("\t", -1);
                    if (f.length != 5) continue;
                    events.add(new Event(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2]), Long.parseUnsignedLong(f[3]), Long.parseUnsignedLong(f[4])));
                }
                return events;
            } finally {
                Files.deleteIfExists(tsv);
                if (mem != null) Files.deleteIfExists(mem);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        if (!open) return;
        open = false;
        ProfilerApi.stop(null, null);
    }
}
