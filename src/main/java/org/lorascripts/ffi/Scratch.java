package org.lorascripts.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Per-thread native scratch memory for out-pointers and small arrays, so a call allocates nothing.
 * Contents are valid only until the next call on the same thread.
 */
public final class Scratch {
    private static final int OUT_SLOTS = 8;
    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

    private final Arena arena = Arena.ofAuto();
    public final MemorySegment out = arena.allocate(8L * OUT_SLOTS, 8);
    private MemorySegment longs = arena.allocate(8L * 64, 8);
    private MemorySegment handles = arena.allocate(8L * 64, 8);
    private MemorySegment handles2 = arena.allocate(8L * 64, 8);

    public static Scratch get() { return LOCAL.get(); }

    public long outHandle(int slot) { return out.getAtIndex(ValueLayout.JAVA_LONG, slot); }

    public int outInt(int slot) { return out.get(ValueLayout.JAVA_INT, 8L * slot); }

    public long outLong(int slot) { return out.getAtIndex(ValueLayout.JAVA_LONG, slot); }

    public double outDouble(int slot) { return out.getAtIndex(ValueLayout.JAVA_DOUBLE, slot); }

    public MemorySegment outSlot(int slot) { return out.asSlice(8L * slot, 8); }

    public MemorySegment longs(long[] values) {
        if (values.length > longs.byteSize() / 8) longs = arena.allocate(8L * values.length, 8);
        MemorySegment.copy(values, 0, longs, ValueLayout.JAVA_LONG, 0, values.length);
        return longs;
    }

    /** Room for n handles (inputs), filled by the caller. */
    public MemorySegment handles(int n) {
        if (n > handles.byteSize() / 8) handles = arena.allocate(8L * n, 8);
        return handles;
    }

    /** Room for n result handles. */
    public MemorySegment handles2(int n) {
        if (n > handles2.byteSize() / 8) handles2 = arena.allocate(8L * n, 8);
        return handles2;
    }
}
