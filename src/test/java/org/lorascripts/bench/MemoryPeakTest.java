package org.lorascripts.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.lorascripts.tensor.Profiler.MemoryEvent;

class MemoryPeakTest {
    private static MemoryEvent ev(long t, long addr, long bytes, String... ops) {
        return new MemoryEvent(t, addr, bytes, 0, List.of(ops));
    }

    @Test
    void peakIsTheHighestRunningSumAndItsLiveSetByOuterOperator() {
        // given out of time order, as the native layer writes them (by operator)
        List<MemoryEvent> events = List.of(
                ev(50, 0xC, 300, "aten::add"),                 // at 50: 250 + 300 = 550, the peak
                ev(10, 0xA, 100, "aten::linear", "aten::addmm"),
                ev(20, 0xB, 200, "aten::linear", "aten::addmm"),
                ev(30, 0xA, -100),                             // freed by the caller: 200
                ev(40, 0xD, 50, "aten::mul"),                  // 250
                ev(60, 0xB, -200, "autograd::engine::evaluate_function: AddBackward0"),   // 350
                ev(70, 0xE, 150, "autograd::engine::evaluate_function: MmBackward0", "aten::mm"));  // 500
        MemoryPeak p = MemoryPeak.of(events, 0, MemoryPeak.OUTER_OP);
        assertEquals(550, p.peakBytes());
        assertEquals(50, p.peakTimeNs());
        assertEquals("aten::add", p.opAtPeak());
        assertEquals(500, p.endBytes());
        assertEquals(0, p.freedFromBefore());
        assertEquals(Map.of("aten::add", 300L, "aten::linear", 200L, "aten::mul", 50L), p.liveBytesByOp());
        assertEquals(List.of("aten::add", "aten::linear", "aten::mul"), List.copyOf(p.liveBytesByOp().keySet()), "largest first");
        assertEquals(550, p.liveBytes());
    }

    @Test
    void freesOfOlderBlocksLowerTheLevelAndOtherDevicesAreIgnored() {
        List<MemoryEvent> events = List.of(
                ev(1, 0x1, -400),                              // a block from before the region: level -400
                ev(2, 0x2, 300, "aten::empty"),                // -100
                new MemoryEvent(3, 0x3, 10_000, 1, List.of("aten::empty")),   // CUDA: not counted
                ev(4, 0x4, 600, "aten::cat"),                  // 500: the peak
                ev(5, 0x4, -600));                             // -100
        MemoryPeak p = MemoryPeak.of(events, 0, MemoryPeak.OUTER_OP);
        assertEquals(500, p.peakBytes());
        assertEquals(400, p.freedFromBefore());
        assertEquals(900, p.liveBytes());
        assertEquals(-100, p.endBytes());
    }

    @Test
    void aRegionThatOnlyFreesHasNoPeakAboveItsStart() {
        MemoryPeak p = MemoryPeak.of(List.of(ev(1, 0x1, -64)), 0, MemoryPeak.OUTER_OP);
        assertEquals(0, p.peakBytes());
        assertEquals(-1, p.peakIndex());
        assertEquals(Map.of(), p.liveBytesByOp());
    }

    @Test
    void parsesTheNativeTable() {
        List<MemoryEvent> ev = MemoryEvent.parse(List.of(
                "123\t18446744073709551615\t-512\t0\tautograd::engine::evaluate_function: MmBackward0 > aten::mm",
                "124\t4096\t512\t0\t-",
                "not a row"));
        assertEquals(2, ev.size());
        assertEquals(-1L, ev.get(0).address(), "addresses are unsigned 64-bit");
        assertEquals(-512, ev.get(0).bytes());
        assertEquals(List.of("autograd::engine::evaluate_function: MmBackward0", "aten::mm"), ev.get(0).ops());
        assertEquals("-", ev.get(1).outerOp());
        assertEquals(List.of(), ev.get(1).ops());
    }
}
