package org.lorascripts.cli;

import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.lorascripts.config.ConfigException;
import org.lorascripts.data.DatasetException;
import org.lorascripts.ffi.Native;
import org.lorascripts.ffi.NativeUnavailableException;
import org.lorascripts.ffi.DeviceOutOfMemoryException;
import org.lorascripts.hub.HubException;
import org.lorascripts.io.SafetensorsFormatException;
import org.lorascripts.train.TrainingException;
import picocli.CommandLine;

/**
 * The one way every command reports a failure: a line {@code error: <message>}, then at most one line
 * {@code hint: <what to try>}, on stderr; no stack traces unless {@code --debug} or {@code LORA_DEBUG=1}.
 * Expected problems (config, data, training I/O, a missing or broken libtorch, a bad command line) exit 2;
 * anything else exits 1. A message may carry its hint on a last line starting with {@code hint:}; any
 * other line breaks are joined, so the error stays one line that scripts can match.
 */
public final class ErrorReporter implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {
    public static final int UNEXPECTED = 1;
    public static final int USER_ERROR = 2;
    /** The task is valid but this build has no trainer for it. */
    public static final int NOT_AVAILABLE = 3;
    /** Stopped by Ctrl-C, as shells report SIGINT (128 + 2). */
    public static final int INTERRUPTED = 130;

    private static final String HINT = "hint:";

    /** Set by {@code --debug} (see {@link Main}); one command runs per process. */
    private static volatile boolean debugOption;

    static void setDebug(boolean on) { debugOption = on; }

    /** Whether errors come with their stack trace: {@code --debug} or {@code LORA_DEBUG=1}. */
    public static boolean debugging() { return debugOption || "1".equals(System.getenv("LORA_DEBUG")); }

    @Override
    public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
        return report(ex, cmd.getErr());
    }

    /** A command line picocli could not parse (unknown option, missing or malformed value). */
    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        CommandLine cmd = ex.getCommandLine();
        // picocli checks required options before it complains about unknown ones, but a misspelt required
        // option (--promt) is better reported as itself, with the name it was meant to be
        if (ex instanceof CommandLine.MissingParameterException && !cmd.getUnmatchedArguments().isEmpty()) {
            ex = new CommandLine.UnmatchedArgumentException(cmd, cmd.getUnmatchedArguments());
        }
        PrintWriter err = cmd.getErr();
        printUserError(parseMessage(ex.getMessage()), parseHint(ex), err);
        if (debugging()) ex.printStackTrace(err);
        err.flush();
        return USER_ERROR;
    }

    public static int report(Throwable e, PrintWriter err) {
        return report(e, err, debugging());
    }

    /**
     * Reports {@code e} as the user's problem (exit 2) whatever its type: for commands whose lower layers
     * signal bad input with IOException or IllegalArgumentException (a broken file, an adapter that does
     * not fit the model).
     */
    public static int reportUserError(Throwable e, PrintWriter err) {
        printUserError(message(e), null, err);
        if (debugging()) e.printStackTrace(err);
        err.flush();
        return USER_ERROR;
    }

    static int report(Throwable thrown, PrintWriter err, boolean debug) {
        return report(thrown, err, debug, Native.failure());
    }

    static int report(Throwable thrown, PrintWriter err, boolean debug, Optional<NativeUnavailableException> nativeFailure) {
        Throwable e = reason(thrown, nativeFailure);
        int code;
        if (e instanceof ConfigException c) {
            for (String problem : c.problems()) printUserError(problem, null, err);  // a config reports all its problems at once
            code = USER_ERROR;
        } else if (isExpected(e)) {
            printUserError(message(e), null, err);
            code = USER_ERROR;
        } else {
            String message = e.getMessage() == null ? "" : ": " + e.getMessage().lines().findFirst().orElse("");
            err.println("error: unexpected " + e.getClass().getSimpleName() + message);
            if (!debug) err.println(HINT + " run with --debug (or LORA_DEBUG=1) for details");
            code = UNEXPECTED;
        }
        if (debug) thrown.printStackTrace(err);
        err.flush();
        return code;
    }

    /** Prints {@code error: } and the message's lines, then its {@code hint:} lines and {@code extraHint} as one hint line. */
    static void printUserError(String message, String extraHint, PrintWriter err) {
        List<String> problem = new ArrayList<>(), hints = new ArrayList<>();
        for (String line : message.lines().map(String::strip).filter(l -> !l.isEmpty()).toList()) {
            if (line.startsWith(HINT)) hints.add(line.substring(HINT.length()).strip());
            else problem.add(line);
        }
        if (extraHint != null) hints.add(extraHint);
        err.println("error: " + String.join(" ", problem));
        if (!hints.isEmpty()) err.println(HINT + " " + String.join("; ", hints));
    }

    /**
     * The message of {@code e}, naming the file when it is a file-system error: those carry only the
     * path as their message ("x.safetensors"), which alone does not say what went wrong.
     */
    static String message(Throwable e) {
        if (e instanceof FileSystemException f && f.getFile() != null) {
            String what = f.getReason() != null ? f.getReason()
                    : f instanceof NoSuchFileException ? "no such file or folder"
                    : f instanceof AccessDeniedException ? "permission denied"
                    : f instanceof FileAlreadyExistsException ? "already exists"
                    : f instanceof DirectoryNotEmptyException ? "the folder is not empty"
                    : f instanceof NotDirectoryException ? "not a folder"
                    : e.getClass().getSimpleName();
            return f.getFile() + (f.getOtherFile() != null ? " -> " + f.getOtherFile() : "") + ": " + what;
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** picocli's wording in ours: no "Error: " of its own, lower case first, no final full stop. */
    static String parseMessage(String picocli) {
        String m = picocli == null ? "invalid command line" : picocli.strip();
        if (m.startsWith("Error: ")) m = m.substring("Error: ".length());
        if (m.endsWith(".")) m = m.substring(0, m.length() - 1);
        return m.isEmpty() ? m : Character.toLowerCase(m.charAt(0)) + m.substring(1);
    }

    /** picocli's closest names for a mistyped option or subcommand (hidden aliases left out), else where the options are listed. */
    private static String parseHint(CommandLine.ParameterException ex) {
        CommandLine cmd = ex.getCommandLine();
        if (ex instanceof CommandLine.UnmatchedArgumentException u) {
            List<String> names = u.getSuggestions().stream().filter(n -> {
                CommandLine.Model.OptionSpec o = cmd.getCommandSpec().findOption(n);
                return o == null || !o.hidden();
            }).toList();
            if (!names.isEmpty()) return "did you mean " + String.join(" or ", names) + "?";
        }
        return "'./" + cmd.getCommandSpec().qualifiedName() + " --help' lists the " + (cmd.getSubcommands().isEmpty() ? "options" : "commands");
    }

    private static boolean isExpected(Throwable e) {
        return e instanceof ConfigException || e instanceof DatasetException || e instanceof NativeUnavailableException
                || e instanceof DeviceOutOfMemoryException || e instanceof TrainingException
                // A broken or truncated download is the user's file to replace, and the message already names it.
                || e instanceof SafetensorsFormatException
                // a model that could not come from the Hub: the message says why (gated, not found, offline, network)
                || e instanceof HubException
                // a data-parallel job that could not start or lost a rank: the message names the rank and the cause
                || e instanceof org.lorascripts.dist.DistributedException;
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
