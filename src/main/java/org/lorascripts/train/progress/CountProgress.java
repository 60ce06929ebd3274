package org.lorascripts.train.progress;

import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * Progress of a counted job as plain lines ({@code label 40/200 (20.0%) 3.10 it/s eta 52s}), about every 5% and at
 * the end, so it reads the same in a terminal and in a log file. Rate and ETA come from the trainer's
 * {@link ProgressStats}. With {@code quietSeconds > 0} nothing is printed until that much time has passed, so a
 * job that ends sooner (latent caching of a dozen images) prints no progress at all.
 */
public final class CountProgress {
    private final String noun;
    private final ProgressStats stats;
    private final Consumer<String> out;
    private final LongSupplier nanoTime;
    private final long start, quietNanos;
    private final long every;
    private long lastPrinted;

    public CountProgress(String noun, long total, Consumer<String> out, LongSupplier nanoTime, double quietSeconds) {
        this.noun = noun;
        this.stats = new ProgressStats(Math.max(total, 1), nanoTime);
        this.out = out;
        this.nanoTime = nanoTime;
        this.start = nanoTime.getAsLong();
        this.quietNanos = (long) (quietSeconds * 1e9);
        this.every = Math.max(1, total / 20);
    }

    public void update(long done) {
        stats.update(done, 0.0, Double.NaN);
        if (nanoTime.getAsLong() - start < quietNanos) return;
        if (done - lastPrinted >= every || done == stats.totalSteps()) {
            lastPrinted = done;
            out.accept(String.format(Locale.ROOT, "%s %d/%d (%.1f%%) %s eta %s", noun, done, stats.totalSteps(),
                    stats.percent(), stats.rateText(), EtaFormat.seconds(stats.etaSeconds())));
        }
    }
}
