package org.lorascripts.train.progress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CountProgressTest {
    @Test
    void aLineAboutEveryTwentiethAndAtTheEnd() {
        AtomicLong clock = new AtomicLong();
        List<String> lines = new ArrayList<>();
        CountProgress p = new CountProgress("label", 200, lines::add, clock::get, 0);
        for (int done = 4; done <= 200; done += 4) {
            clock.addAndGet(2_000_000_000L);   // 4 items every 2 s: 2 it/s
            p.update(done);
        }
        // a line once at least 10 (200 / 20) more are done: updates come 4 at a time, so at 12, 24, ... 192, then 200
        assertEquals(17, lines.size(), lines.toString());
        assertEquals("label 12/200 (6.0%) 2.00 it/s eta 1m34s", lines.get(0));
        assertEquals("label 200/200 (100.0%) 2.00 it/s eta 0s", lines.getLast());
    }

    @Test
    void aQuietJobThatEndsSoonPrintsNothingALongerOneReports() {
        AtomicLong clock = new AtomicLong();
        List<String> lines = new ArrayList<>();
        CountProgress fast = new CountProgress("caching latents", 12, lines::add, clock::get, 3.0);
        for (int done = 1; done <= 12; done++) {
            clock.addAndGet(100_000_000L);   // 1.2 s in all
            fast.update(done);
        }
        assertEquals(List.of(), lines, "a dozen quick images print no progress");

        CountProgress slow = new CountProgress("caching latents", 100, lines::add, clock::get, 3.0);
        for (int done = 1; done <= 100; done++) {
            clock.addAndGet(500_000_000L);   // 50 s in all
            slow.update(done);
        }
        assertTrue(lines.getFirst().startsWith("caching latents 6/100 (6.0%) 2.00 it/s"), lines.toString());
        assertEquals("caching latents 100/100 (100.0%) 2.00 it/s eta 0s", lines.getLast());
        assertTrue(lines.size() >= 15 && lines.size() <= 20, lines.toString());
    }
}
