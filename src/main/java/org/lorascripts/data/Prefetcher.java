package org.lorascripts.data;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Work started ahead on background threads and taken by key when it is needed: the next batch's images decoded
 * and resized while the current step runs. Plain Java only (no tensors: their scopes belong to the training
 * thread). At most {@code capacity} results wait; starting one more drops the oldest (a hint that was not
 * followed, e.g. the batch after the last step). A failure surfaces where the result is taken, as the same
 * exception the work threw; a result never taken never fails anything.
 */
public final class Prefetcher<K, V> {
    private static final AtomicInteger THREADS = new AtomicInteger();
    private final int capacity;
    private final ExecutorService pool;
    private final Map<K, CompletableFuture<V>> waiting = new LinkedHashMap<>();

    /** {@code threads} daemon threads, idle ones ended after a few seconds (a run that never prefetches keeps none). */
    public Prefetcher(int threads, int capacity) {
        if (threads < 1 || capacity < 1) throw new IllegalArgumentException("threads and capacity must be >= 1");
        this.capacity = capacity;
        ThreadPoolExecutor p = new ThreadPoolExecutor(threads, threads, 5, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "data-prefetch-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        p.allowCoreThreadTimeOut(true);
        this.pool = p;
    }

    /** Threads for reading images ahead: the cores but one (the training thread's), at least one, at most four. */
    public static int defaultThreads() {
        return Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() - 1));
    }

    /** Starts {@code work} for {@code key} unless it already waits. */
    public synchronized void start(K key, Supplier<V> work) {
        if (waiting.containsKey(key)) return;
        while (waiting.size() >= capacity) {
            Iterator<CompletableFuture<V>> it = waiting.values().iterator();
            it.next().cancel(false);
            it.remove();
        }
        waiting.put(key, CompletableFuture.supplyAsync(work, pool));
    }

    /** The result for {@code key}, waiting for it if it is still running; empty when it was never started (or dropped). */
    public Optional<V> take(K key) {
        CompletableFuture<V> f;
        synchronized (this) {
            f = waiting.remove(key);
        }
        if (f == null) return Optional.empty();
        try {
            return Optional.of(f.join());
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw e;
        }
    }

    /** Results waiting (started, not yet taken). */
    public synchronized int waiting() {
        return waiting.size();
    }
}
