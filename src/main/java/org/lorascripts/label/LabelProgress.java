package org.lorascripts.label;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;
import org.lorascripts.train.progress.EtaFormat;
import org.lorascripts.train.progress.ProgressStats;

/**
 * Progress of a labeling run as plain lines ({@code label 40/200 (20.0%) 3.10 it/s eta 52s}), about
 * every 5% and at the end, so it reads the same in a terminal and in a log file. Rate and ETA come from
 * the trainer's {@link ProgressStats}.
 */
public final class LabelProgress {
    private final ProgressStats stats;
    private final PrintStream out;
    private final long every;
    private long lastPrinted;

    public LabelProgress(long total, PrintStream out, LongSupplier nanoTime) {
        this.stats = new ProgressStats(Math.max(total, 1), nanoTime);
        this.out = out;
        this.every = Math.max(1, total / 20);
    }

    public void update(long done) {
        stats.update(done, 0.0, Double.NaN);
        if (done - lastPrinted >= every || done == stats.totalSteps()) {
            lastPrinted = done;
            out.println(String.format(Locale.ROOT, "label %d/%d (%.1f%%) %s eta %s", done, stats.totalSteps(),
                    stats.percent(), stats.rateText(), EtaFormat.seconds(stats.etaSeconds())));
            out.flush();
        }
    }
}
