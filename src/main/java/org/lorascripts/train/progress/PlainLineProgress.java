package org.lorascripts.train.progress;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Non-terminal progress: one line every {@code logInterval} steps and at the last step, e.g.
 * {@code step 100/1000 (10.0%) loss 0.1234 lr 1.00e-04 2.50 it/s eta 6m00s}.
 */
public final class PlainLineProgress implements TrainingProgress {
    private final ProgressStats stats;
    private final int logInterval;
    private final PrintStream out;

    public PlainLineProgress(long totalSteps, int logInterval, PrintStream out, LongSupplier nanoTime) {
        if (logInterval <= 0) throw new IllegalArgumentException("log interval must be > 0, got " + logInterval);
        this.stats = new ProgressStats(totalSteps, nanoTime);
        this.logInterval = logInterval;
        this.out = out;
    }

    @Override
    public void update(long completedSteps, double loss, double lr) {
        stats.update(completedSteps, loss, lr);
        if (completedSteps % logInterval == 0 || completedSteps == stats.totalSteps()) {
            out.println(line());
            out.flush();
        }
    }

    String line() {
        long total = stats.totalSteps();
        return String.format(Locale.ROOT, "step %d/%d (%.1f%%) %s eta %s",
                stats.step(), total, stats.percent(), stats.metricsText(), EtaFormat.seconds(stats.etaSeconds()));
    }

    @Override
    public void close() {
        out.flush();
    }
}
