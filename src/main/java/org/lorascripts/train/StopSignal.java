package org.lorascripts.train;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicBoolean;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ctrl-C handling for a training run. The first SIGINT only asks the loop to stop: it finishes the
 * optimizer step in flight, saves a checkpoint and returns, so an hour of training is not lost to
 * a keypress. A second SIGINT exits at once with 130 (for a user who really means it, or a loop
 * stuck in a long step). {@link #request()} is the first signal without a signal, for tests and
 * for embedding callers.
 */
public final class StopSignal {
    private static final String SIGINT = "INT";

    private final AtomicBoolean requested = new AtomicBoolean();
    private final PrintStream console;
    private SignalHandler previous;

    public StopSignal(PrintStream console) {
        this.console = console;
    }

    /** Takes over SIGINT until {@link #uninstall()}. */
    public synchronized void install() {
        if (previous != null) return;
        previous = Signal.handle(new Signal(SIGINT), sig -> onSignal());
    }

    /** Gives SIGINT back to whoever had it before {@link #install()}. */
    public synchronized void uninstall() {
        if (previous == null) return;
        Signal.handle(new Signal(SIGINT), previous);
        previous = null;
    }

    /** The effect of a first Ctrl-C: the loop stops after the current optimizer step. */
    public void request() {
        if (requested.compareAndSet(false, true)) {
            console.println();
            console.println("stopping after this step and saving a checkpoint (press Ctrl-C again to quit at once)");
            console.flush();
        }
    }

    public boolean isRequested() { return requested.get(); }

    private void onSignal() {
        if (requested.get()) {
            console.println();
            console.println("second Ctrl-C: quitting without saving");
            console.flush();
            Runtime.getRuntime().halt(130);
        }
        request();
    }
}
