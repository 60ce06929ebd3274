package org.lorascripts.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Profiler;
import org.lorascripts.tensor.Profiler.MemoryEvent;

/**
 * The peak of live bytes in a profiled region and what was live at it, from the profiler's allocation and
 * free events ({@link org.lorascripts.tensor.Profiler#memoryEvents}, or the same table written by
 * tools/memory_reference.py for the PyTorch reference). Events are replayed in time order (ties in their
 * given order) as a running sum: an allocation adds its size, a free of a block allocated in the region
 * subtracts that block's size, and a free of a block allocated before the region subtracts its size too
 * (the level can go below its start, 0). The peak is the highest level (at least 0); the live set at the
 * peak is every block allocated in the region and not yet freed, grouped by the operator that made it.
 */
public record MemoryPeak(long peakBytes, int peakIndex, long peakTimeNs, long endBytes, long freedFromBefore,
                         String opAtPeak, Map<String, Long> liveBytesByOp, Map<String, Integer> liveCountByOp) {

    /** Attribution by the outermost operator (the one the caller ran, or the autograd node in backward). */
    public static final Function<MemoryEvent, String> OUTER_OP = MemoryEvent::outerOp;

    private record Block(long bytes, String op) {}

    /** The peak of the events of one device type ({@code 0} CPU), blocks attributed by {@code attribution}. */
    public static MemoryPeak of(List<MemoryEvent> events, int device, Function<MemoryEvent, String> attribution) {
        List<MemoryEvent> ev = new ArrayList<>();
        for (MemoryEvent e : events) if (e.device() == device && e.bytes() != 0) ev.add(e);
        ev.sort(Comparator.comparingLong(MemoryEvent::timeNs));   // stable: ties keep their order
        // pass 1: the level after each event; the first index where it is highest
        long level = 0, peak = 0, fromBefore = 0;   // fromBefore: frees of blocks older than the region, up to the peak
        int peakIndex = -1;
        Map<Long, Long> live = new HashMap<>();
        for (int i = 0; i < ev.size(); i++) {
            level += delta(ev.get(i), live);
            if (level > peak) {
                peak = level;
                peakIndex = i;
            }
        }
        long end = level;
        // pass 2: replay up to the peak, keeping who made each live block; count frees of older blocks up to it
        Map<Long, Block> blocks = new HashMap<>();
        for (int i = 0; i <= peakIndex; i++) {
            MemoryEvent e = ev.get(i);
            if (e.bytes() > 0) {
                blocks.put(e.address(), new Block(e.bytes(), attribution.apply(e)));
            } else if (blocks.remove(e.address()) == null) {
                fromBefore += -e.bytes();
            }
        }
        Map<String, Long> bytesByOp = new HashMap<>();
        Map<String, Integer> countByOp = new HashMap<>();
        if (peakIndex >= 0) {
            for (Block b : blocks.values()) {
                bytesByOp.merge(b.op(), b.bytes(), Long::sum);
                countByOp.merge(b.op(), 1, Integer::sum);
            }
        }
        Map<String, Long> sorted = new LinkedHashMap<>();
        bytesByOp.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .forEach(x -> sorted.put(x.getKey(), x.getValue()));
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String k : sorted.keySet()) counts.put(k, countByOp.get(k));
        MemoryEvent at = peakIndex >= 0 ? ev.get(peakIndex) : null;
        return new MemoryPeak(peak, peakIndex, at == null ? 0 : at.timeNs(), end, fromBefore,
                at == null ? "-" : String.join(" > ", at.ops().isEmpty() ? List.of("-") : at.ops()), sorted, counts);
    }

    // the size change of one event: + its size for an allocation, − the block's size for a free
    private static long delta(MemoryEvent e, Map<Long, Long> live) {
        if (e.bytes() > 0) {
            Long old = live.put(e.address(), e.bytes());
            return old == null ? e.bytes() : e.bytes() - old;   // a block reused without a recorded free
        }
        Long size = live.remove(e.address());
        return size == null ? e.bytes() : -size;
    }

    /** Bytes live at the peak (blocks allocated in the region); the rest of the peak is the level's drop from older frees. */
    public long liveBytes() {
        long s = 0;
        for (long b : liveBytesByOp.values()) s += b;
        return s;
    }

    /** A short report: the peak, where it happened, and the {@code top} operators of the live set. */
    public String report(String title, int top) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%s: peak %.1f MiB above the start (live blocks made in the region %.1f MiB, older blocks freed before it %.1f MiB),"
                        + " end %.1f MiB; at: %s%n", title, mib(peakBytes), mib(liveBytes()), mib(freedFromBefore), mib(endBytes), opAtPeak));
        int n = 0;
        for (var e : liveBytesByOp.entrySet()) {
            if (n++ >= top) break;
            sb.append(String.format(Locale.ROOT, "  %9.2f MiB  %4d  %s%n", mib(e.getValue()), liveCountByOp.get(e.getKey()), e.getKey()));
        }
        return sb.toString();
    }

    static double mib(long b) { return b / (double) (1L << 20); }

    /** Events of one profiled run and, on CUDA, the allocator's allocated bytes before it and its peak during it (else 0). */
    record Profiled(List<MemoryEvent> events, long residentBefore, long peak) {}

    /** Runs {@code step} once under libtorch's profiler with memory events (synchronising the device around it on CUDA). */
    static Profiled profile(Device dev, Runnable step) {
        boolean cuda = dev.type() == Device.Type.CUDA;
        long before = 0;
        if (cuda) {
            Cuda.synchronize(dev.index());
            before = Cuda.memory(dev.index()).map(Cuda.Memory::allocated).orElse(0L);
            Cuda.resetPeakMemory(dev.index());
        }
        List<MemoryEvent> ev;
        try (Profiler p = Profiler.startWithMemory(cuda)) {
            step.run();
            if (cuda) Cuda.synchronize(dev.index());
            p.stop(null);
            ev = p.memoryEvents();
        }
        long peak = cuda ? Cuda.memory(dev.index()).map(Cuda.Memory::peakAllocated).orElse(0L) : 0;
        return new Profiled(ev, before, peak);
    }

    /** Writes the events as the table {@link MemoryEvent#parse} reads (and tools/memory_reference.py writes). */
    static void writeTable(List<MemoryEvent> ev, Path table) throws IOException {
        List<String> lines = new ArrayList<>();
        for (MemoryEvent e : ev) {
            lines.add(e.timeNs() + "\t" + Long.toUnsignedString(e.address()) + "\t" + e.bytes() + "\t" + e.device() + "\t"
                    + (e.ops().isEmpty() ? "-" : String.join(" > ", e.ops())));
        }
        Files.write(table, lines);
    }

    /** The live set at the peak of one device type's events, by operator and then by operator and block size. */
    static String reports(List<MemoryEvent> ev, int device, String title) {
        return of(ev, device, OUTER_OP).report(title + " by operator", 30)
                + of(ev, device, e -> String.format(Locale.ROOT, "%s [%.2f MiB]", e.outerOp(), mib(e.bytes()))).report(title + " by operator and size", 40);
    }
}
