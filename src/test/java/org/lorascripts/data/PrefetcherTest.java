package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PrefetcherTest {
    @Test
    void workRunsOnAnotherThreadAndIsTakenOnce() {
        Prefetcher<String, String> p = new Prefetcher<>(2, 4);
        p.start("a", () -> Thread.currentThread().getName());
        String thread = p.take("a").orElseThrow();
        assertTrue(thread.startsWith("data-prefetch-"), thread);
        assertNotEquals(Thread.currentThread().getName(), thread);
        assertEquals(Optional.empty(), p.take("a"), "taken once");
        assertEquals(Optional.empty(), p.take("never started"));
        assertEquals(0, p.waiting());
    }

    @Test
    void aKeyAlreadyWaitingIsNotStartedAgain() {
        Prefetcher<String, Integer> p = new Prefetcher<>(1, 4);
        AtomicInteger runs = new AtomicInteger();
        p.start("a", runs::incrementAndGet);
        p.start("a", runs::incrementAndGet);
        assertEquals(1, p.take("a").orElseThrow());
        assertEquals(1, runs.get());
    }

    @Test
    void beyondItsCapacityTheOldestIsDropped() throws InterruptedException {
        Prefetcher<Integer, Integer> p = new Prefetcher<>(1, 2);
        CountDownLatch release = new CountDownLatch(1);
        p.start(1, () -> { await(release); return 1; });
        p.start(2, () -> 2);
        p.start(3, () -> 3);
        assertEquals(2, p.waiting());
        release.countDown();
        assertEquals(Optional.empty(), p.take(1), "the oldest was dropped");
        assertEquals(2, p.take(2).orElseThrow());
        assertEquals(3, p.take(3).orElseThrow());
    }

    @Test
    void aFailureSurfacesAsItselfWhereTheResultIsTaken() {
        Prefetcher<String, String> p = new Prefetcher<>(1, 4);
        DatasetException boom = new DatasetException("a.png changed during training");
        p.start("a", () -> { throw boom; });
        p.start("b", () -> { throw new IllegalStateException("never taken, never thrown"); });
        assertSame(boom, assertThrows(DatasetException.class, () -> p.take("a")));
    }

    private static void await(CountDownLatch l) {
        try {
            l.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
