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
}
