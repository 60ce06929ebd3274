package org.lorascripts.train.progress;

import java.io.PrintStream;

/**
 * Progress display of the training loop. {@code update} is called after each optimizer step with the
 * number of completed steps (1 after the first step, {@code totalSteps} after the last).
 */
public interface TrainingProgress extends AutoCloseable {
    void update(long completedSteps, double loss, double lr);

    @Override
    void close();

    /**
     * A redrawn bar when stdout is a terminal, else one plain line every {@code logInterval} steps
     * (log files and CI output then hold readable lines rather than carriage-return soup).
     */
    static TrainingProgress forStdout(long totalSteps, int logInterval) {
        PrintStream out = System.out;
        if (stdoutIsTerminal()) {
            return new TerminalProgressBar(totalSteps, out);
        }
        return new PlainLineProgress(totalSteps, logInterval, out, System::nanoTime);
    }

    /** Java 22+: System.console() exists even when redirected, isTerminal() says whether it is a TTY. */
    static boolean stdoutIsTerminal() {
        java.io.Console console = System.console();
        return console != null && console.isTerminal();
    }
}
