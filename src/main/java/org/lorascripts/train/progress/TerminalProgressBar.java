package org.lorascripts.train.progress;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Optional;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Terminal progress, redrawn in place by me.tongfei:progressbar on its own thread at most 10 times a
 * second: {@code train 10% [===    ] 100/1000 (0:01:00 / 0:09:00) loss 0.1234 lr 1.00e-04 2.50 it/s}.
 * The ETA comes from our {@link ProgressStats} so that both display modes agree.
 */
final class TerminalProgressBar implements TrainingProgress {
    private static final int REDRAW_MILLIS = 100;

    private final ProgressStats stats;
    private final ProgressBar bar;

    TerminalProgressBar(long totalSteps, PrintStream out) {
        this.stats = new ProgressStats(totalSteps, System::nanoTime);
        this.bar = new ProgressBarBuilder()
                .setTaskName("train")
                .setInitialMax(totalSteps)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(REDRAW_MILLIS)
                .setConsumer(new ConsoleProgressBarConsumer(out))
                .setEtaFunction(state -> eta())
                .build();
    }

    private Optional<Duration> eta() {
        double s = stats.etaSeconds();
        return Double.isNaN(s) ? Optional.empty() : Optional.of(Duration.ofMillis(Math.round(s * 1000)));
    }

    @Override
    public void update(long completedSteps, double loss, double lr) {
        stats.update(completedSteps, loss, lr);
        bar.stepTo(completedSteps);
        bar.setExtraMessage(stats.metricsText());
    }

    @Override
    public void close() {
        bar.close();
    }
}
