package org.lorascripts.cli;

import java.io.PrintWriter;
import java.util.Optional;
import org.lorascripts.config.ConfigException;
import org.lorascripts.data.DatasetException;
import org.lorascripts.ffi.Native;
import org.lorascripts.ffi.NativeUnavailableException;
import org.lorascripts.ffi.DeviceOutOfMemoryException;
import org.lorascripts.io.SafetensorsFormatException;
import org.lorascripts.train.TrainingException;
import picocli.CommandLine;

/**
 * Turns exceptions into one-line messages and exit codes; no stack traces unless {@code --debug}
 * or {@code LORA_DEBUG=1}. Expected problems (config, data, training I/O, a missing or broken
 * libtorch, a malformed safetensors file) exit 2; anything else exits 1.
 */
public final class ErrorReporter implements CommandLine.IExecutionExceptionHandler {
    public static final int UNEXPECTED = 1;
    public static final int USER_ERROR = 2;
    /** The task is valid but this build has no trainer for it. */
    public static final int NOT_AVAILABLE = 3;
    /** Stopped by Ctrl-C, as shells report SIGINT (128 + 2). */
    public static final int INTERRUPTED = 130;

    /** Set by {@code --debug} (see {@link Main}); one command runs per process. */
    private static volatile boolean debugOption;

    static void setDebug(boolean on) { debugOption = on; }

    /** Whether errors come with their stack trace: {@code --debug} or {@code LORA_DEBUG=1}. */
    public static boolean debugging() { return debugOption || "1".equals(System.getenv("LORA_DEBUG")); }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
        return report(ex, cmd.getErr());
    }

    public static int report(Throwable e, PrintWriter err) {
        return report(e, err, debugging());
    }

    static int report(Throwable thrown, PrintWriter err, boolean debug) {
        return report(thrown, err, debug, Native.failure());
    }

    static int report(Throwable thrown, PrintWriter err, boolean debug, Optional<NativeUnavailableException> nativeFailure) {
        Throwable e = reason(thrown, nativeFailure);
        int code;
        if (e instanceof ConfigException c) {
            for (String problem : c.problems()) err.println("error: " + problem);  // a config reports all its problems at once
            code = USER_ERROR;
        } else if (isExpected(e)) {
            err.println("error: " + e.getMessage());
            code = USER_ERROR;
        } else {
            String message = e.getMessage() == null ? "" : ": " + e.getMessage().lines().findFirst().orElse("");
            err.println("error: unexpected " + e.getClass().getSimpleName() + message);
            if (!debug) err.println("run with --debug (or LORA_DEBUG=1) for details");
            code = UNEXPECTED;
        }
        if (debug) thrown.printStackTrace(err);
        err.flush();
        return code;
    }

    private static boolean isExpected(Throwable e) {
        return e instanceof ConfigException || e instanceof DatasetException || e instanceof NativeUnavailableException
                || e instanceof DeviceOutOfMemoryException || e instanceof TrainingException
                // A broken or truncated download is the user's file to replace, and the message already names it.
                || e instanceof SafetensorsFormatException;
    }

    /**
     * The problem to report. The native layer is loaded from static initialisers, so a missing or broken
     * libtorch first arrives as an {@link ExceptionInInitializerError} around the real exception, and at
     * later uses of the same class as a {@link NoClassDefFoundError} ("Could not initialize class") that
     * no longer holds it; {@link Native#failure()} (passed in as {@code nativeFailure}) still does.
     */
    static Throwable reason(Throwable thrown, Optional<NativeUnavailableException> nativeFailure) {
        Throwable e = thrown;
        for (int depth = 0; depth < 8 && !isExpected(e) && e instanceof LinkageError; depth++) {
            Throwable cause = e.getCause();
            if (cause == null || cause == e) return nativeFailure.isPresent() ? nativeFailure.get() : e;
            e = cause;
        }
        return e;
    }
}
