package org.lorascripts.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ProfilerTest {
    @Test
    void recordsTheOperatorsRunInsideTheRegionOnly() {
        assumeTrue(Profiler.isAvailable(), "native layer without the profiler");
        List<Profiler.Event> events;
        try (Tensor a = Torch.ones(new long[] {64, 64}, DType.F32, Device.CPU); Tensor outside = a.add(a)) {
            try (Profiler p = Profiler.start(false)) {
                try (Tensor b = a.matmul(a); Tensor c = b.sigmoid()) { assertEquals(4096, c.numel()); }
                events = p.stop(null);
            }
            try (Tensor after = a.cos()) { after.numel(); }
        }
        Set<String> names = events.stream().map(Profiler.Event::name).collect(Collectors.toSet());
        assertTrue(names.contains("aten::matmul") || names.contains("aten::mm"), () -> "no matmul in " + names);
        assertTrue(names.contains("aten::sigmoid"), () -> "no sigmoid in " + names);
        assertTrue(!names.contains("aten::cos") && !names.contains("aten::add"), () -> "ops outside the region recorded: " + names);
        for (Profiler.Event e : events) {
            assertTrue(!e.onGpu(), () -> "a CPU-only region recorded a GPU event: " + e);
            assertTrue(e.durationNs() >= 0 && e.startNs() > 0, () -> "bad times: " + e);
        }
    }

    @Test
    void closingWithoutStopDiscardsAndAllowsANewRegion() {
        assumeTrue(Profiler.isAvailable(), "native layer without the profiler");
        try (Profiler p = Profiler.start(false); Tensor t = Torch.ones(new long[] {2}, DType.F32, Device.CPU)) { t.numel(); }
        try (Profiler p = Profiler.start(false)) {
            try (Tensor t = Torch.ones(new long[] {2}, DType.F32, Device.CPU); Tensor u = t.exp()) { u.numel(); }
            assertTrue(p.stop(null).stream().anyMatch(e -> e.name().equals("aten::exp")));
        }
    }

    @Test
    void memoryEventsPairAnAllocationUnderItsOperatorWithItsFree() {
        assumeTrue(Profiler.isMemoryAvailable(), "native layer without the memory profiler");
        List<Profiler.MemoryEvent> mem;
        try (Tensor a = Torch.ones(new long[] {64, 64}, DType.F32, Device.CPU)) {
            Profiler p = Profiler.startWithMemory(false);
            try {
                try (Tensor b = a.matmul(a)) { assertEquals(4096, b.numel()); }
                p.stop(null);
            } catch (RuntimeException e) {
                p.close();
                // Debian's libtorch 1.13 has no Kineto: no event tree to read the allocations from
                assumeTrue(!String.valueOf(e.getMessage()).contains("Kineto"), "libtorch without Kineto");
                throw e;
            }
            mem = p.memoryEvents();
        }
        Profiler.MemoryEvent alloc = mem.stream().filter(e -> e.bytes() == 64 * 64 * 4).findFirst()
                .orElseThrow(() -> new AssertionError("no 16 KiB allocation in " + mem));
        assertTrue(alloc.outerOp().contains("matmul") || alloc.outerOp().contains("mm"), () -> "made by " + alloc.ops());
        assertTrue(mem.stream().anyMatch(e -> e.address() == alloc.address() && e.bytes() == -alloc.bytes() && e.timeNs() >= alloc.timeNs()),
                () -> "no matching free in " + mem);
    }
}
