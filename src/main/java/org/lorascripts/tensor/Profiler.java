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
 * Perfetto) where libtorch was built with Kineto. Benchmarks use it for their per-step breakdown;
 * training never starts it.
 */
public final class Profiler implements AutoCloseable {
    /** One recorded event: an operator on the CPU ({@code device == 0}) or a kernel/copy on a GPU ({@code 1} for CUDA). */
    public record Event(String name, int device, int activity, long startNs, long durationNs) {
        public boolean onGpu() { return device != 0; }
    }

    private boolean open = true;

    private Profiler() {}

    public static boolean isAvailable() { return ProfilerApi.available(); }

    public static Profiler start(boolean cuda) {
        ProfilerApi.start(cuda);
        return new Profiler();
    }

    /** Stops recording and returns the events; saves the Chrome trace to {@code chromeTrace} unless null. */
    public List<Event> stop(Path chromeTrace) {
        if (!open) throw new IllegalStateException("profiler already stopped");
        open = false;
        try {
            Path tsv = Files.createTempFile("lora-profile", ".tsv");
            try {
                ProfilerApi.stop(tsv.toString(), chromeTrace == null ? null : chromeTrace.toAbsolutePath().toString());
                List<Event> events = new ArrayList<>();
                for (String line : Files.readAllLines(tsv)) {
                    String[] f = line.split("\t", -1);
                    if (f.length != 5) continue;
                    events.add(new Event(f[0], Integer.parseInt(f[1]), Integer.parseInt(f[2]), Long.parseUnsignedLong(f[3]), Long.parseUnsignedLong(f[4])));
                }
                return events;
            } finally {
                Files.deleteIfExists(tsv);
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
