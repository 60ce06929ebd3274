package org.lorascripts.cli;

import java.io.PrintWriter;
import org.lorascripts.config.ConfigException;
import org.lorascripts.data.DatasetException;
import org.lorascripts.ffi.NativeUnavailableException;
import org.lorascripts.tensor.DeviceOutOfMemoryException;
import org.lorascripts.train.TrainingException;
import picocli.CommandLine;

/**
 * Turns exceptions into one-line messages and exit codes; no stack traces unless
 * {@code LORA_DEBUG=1}. Expected problems (config, data, training I/O) exit 2; anything else exits 1.
 */
public final class ErrorReporter implements CommandLine.IExecutionExceptionHandler {
    public static final int UNEXPECTED = 1;
    public static final int USER_ERROR = 2;
    /** The task is valid but this build has no trainer for it. */
    public static final int NOT_AVAILABLE = 3;
    /** Stopped by Ctrl-C, as shells report SIGINT (128 + 2). */
    public static final int INTERRUPTED = 130;

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
        return report(ex, cmd.getErr());
    }

    public static int report(Throwable e, PrintWriter err) {
        return report(e, err, "1".equals(System.getenv("LORA_DEBUG")));
    }

    static int report(Throwable e, PrintWriter err, boolean debug) {
        int code;
        if (e instanceof ExceptionInInitializerError && e.getCause() != null) e = e.getCause();
        if (e instanceof ConfigException || e instanceof DatasetException || e instanceof NativeUnavailableException
                || e instanceof DeviceOutOfMemoryException || e instanceof TrainingException) {
            err.println("error: " + e.getMessage());
            code = USER_ERROR;
        } else {
            String message = e.getMessage() == null ? "" : ": " + e.getMessage().lines().findFirst().orElse("");
            err.println("error: unexpected " + e.getClass().getSimpleName() + message);
            if (!debug) err.println("run with LORA_DEBUG=1 for details");
            code = UNEXPECTED;
        }
        if (debug) e.printStackTrace(err);
        err.flush();
        return code;
    }
}
