package org.lorascripts.train.progress;

import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of a byte transfer (a model download), in the training bar's two modes: on a terminal the
 * same redrawn bar in MiB with the speed and ETA
 * ({@code download 42% [=====     ] 120.0/285.5 MiB (0:00:12 / 0:00:16) 10.0 MiB/s}); otherwise a
 * plain line at most every {@code intervalSeconds} and at the end
 * ({@code download 120.0/285.5 MiB (42.0%) 10.0 MiB/s eta 16s}). Thread-safe: parallel downloads
 * report into one display.
 */
public final class TransferProgress implements AutoCloseable {
    private static final double MIB = 1 << 20;

    private final String task;
    private final long total;
    private final PrintStream out;
    private final LongSupplier nanoTime;
    private final long intervalNanos;
    private final ProgressBar bar;
    private final AtomicLong done = new AtomicLong();
    private final long startNanos;
    private long lastLineNanos;
    private boolean closed;

    /** {@code total} bytes (−1 when unknown); a terminal bar when stdout is a terminal, else plain lines on {@code out}. */
    public static TransferProgress create(String task, long total, PrintStream out) {
        return new TransferProgress(task, total, out, TrainingProgress.stdoutIsTerminal(), System::nanoTime, 5);
    }

    TransferProgress(String task, long total, PrintStream out, boolean terminal, LongSupplier nanoTime, int intervalSeconds) {
        this.task = task;
        this.total = total;
        this.out = out;
        this.nanoTime = nanoTime;
        this.intervalNanos = intervalSeconds * 1_000_000_000L;
        this.startNanos = nanoTime.getAsLong();
        this.lastLineNanos = startNanos;
        this.bar = terminal ? new ProgressBarBuilder().setTaskName(task).setInitialMax(Math.max(total, 1))
                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(200).setUnit(" MiB", 1 << 20).showSpeed()
                .setConsumer(new ConsoleProgressBarConsumer(out)).build() : null;
    }

    /** {@code bytes} more arrived (negative: bytes to fetch again). */
    public void add(long bytes) {
        long now = done.addAndGet(bytes);
        if (bar != null) {
            bar.stepTo(Math.max(0, now));
            return;
        }
        synchronized (this) {
            long t = nanoTime.getAsLong();
            if (!closed && t - lastLineNanos >= intervalNanos) {
                lastLineNanos = t;
                out.println(line(t));
                out.flush();
            }
        }
    }

    /** "download 120.0/285.5 MiB (42.0%) 10.0 MiB/s eta 16s" */
    String line(long nowNanos) {
        long d = Math.max(0, done.get());
        double seconds = (nowNanos - startNanos) / 1e9;
        double rate = seconds > 0 ? d / seconds : Double.NaN;
        String speed = Double.isNaN(rate) || rate <= 0 ? "? MiB/s" : String.format(Locale.ROOT, "%.1f MiB/s", rate / MIB);
        if (total < 0) return String.format(Locale.ROOT, "%s %.1f MiB %s", task, d / MIB, speed);
        double eta = Double.isNaN(rate) || rate <= 0 ? Double.NaN : (total - d) / rate;
        return String.format(Locale.ROOT, "%s %.1f/%.1f MiB (%.1f%%) %s eta %s", task, d / MIB, total / MIB,
                total == 0 ? 100.0 : 100.0 * d / total, speed, EtaFormat.seconds(eta));
    }

    /** Ends the display without a final line (the transfer failed and its error follows). */
    public synchronized void abandon() {
        if (closed) return;
        closed = true;
        if (bar != null) bar.close();
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (bar != null) {
            bar.close();
        } else {
            out.println(line(nanoTime.getAsLong()));
            out.flush();
        }
    }
}
