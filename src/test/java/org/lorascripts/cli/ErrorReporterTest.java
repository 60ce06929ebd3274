package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.lorascripts.config.TaskType;
import org.lorascripts.ffi.NativeUnavailableException;
import org.lorascripts.tasks.Trainers;

/**
 * Errors around native failures: binding classes load libtorch from static initialisers, so a missing
 * libtorch arrives as an Error that commands do not catch. Each must still end in one line, exit 2.
 */
class ErrorReporterTest {
    private static final NativeUnavailableException MISSING =
            new NativeUnavailableException("libtorch not found (test); install one: 'sudo apt-get install libtorch-dev'", null);

    private record Report(int code, String err) {}

    private static Report report(Throwable t, boolean debug, Optional<NativeUnavailableException> nativeFailure) {
        StringWriter err = new StringWriter();
        int code = ErrorReporter.report(t, new PrintWriter(err), debug, nativeFailure);
        return new Report(code, err.toString());
    }

    @Test void classInitialisationFailureReportsTheNativeMessage() {
        Report r = report(new ExceptionInInitializerError(MISSING), false, Optional.empty());
        assertEquals(ErrorReporter.USER_ERROR, r.code());
        assertEquals("error: " + MISSING.getMessage() + "\n", r.err());
    }

    @Test void nestedLinkageErrorsAreUnwrapped() {
        NoClassDefFoundError outer = new NoClassDefFoundError("Could not initialize class org.lorascripts.ffi.TensorApi");
        outer.initCause(new ExceptionInInitializerError(MISSING));
        Report r = report(outer, false, Optional.empty());
        assertEquals(2, r.code());
        assertEquals("error: " + MISSING.getMessage() + "\n", r.err());
    }

    @Test void laterUsesOfTheFailedClassReportTheFirstFailure() {
        // What the JVM throws at the second use of a class whose initialiser failed: the original is gone.
        NoClassDefFoundError second = new NoClassDefFoundError("Could not initialize class org.lorascripts.ffi.TensorApi");
        second.initCause(new ExceptionInInitializerError("Exception org.lorascripts.ffi.NativeUnavailableException: ... [in thread \"main\"]"));
        Report r = report(second, false, Optional.of(MISSING));
        assertEquals(2, r.code());
        assertEquals("error: " + MISSING.getMessage() + "\n", r.err());
    }

    @Test void otherErrorsAreOneUnexpectedLineWithTheDebugHint() {
        Report r = report(new ExceptionInInitializerError(new IllegalStateException("bad table\nsecond line")), false, Optional.empty());
        assertEquals(ErrorReporter.UNEXPECTED, r.code());
        assertEquals("error: unexpected IllegalStateException: bad table\nhint: run with --debug (or LORA_DEBUG=1) for details\n", r.err());
        Report oom = report(new OutOfMemoryError("Java heap space"), false, Optional.empty());
        assertTrue(oom.err().startsWith("error: unexpected OutOfMemoryError: Java heap space\n"), oom.err());
    }

    @Test void debugAddsTheWholeTraceOfWhatWasThrown() {
        Report r = report(new ExceptionInInitializerError(MISSING), true, Optional.empty());
        assertTrue(r.err().startsWith("error: " + MISSING.getMessage() + "\n"), r.err());
        assertTrue(r.err().contains("java.lang.ExceptionInInitializerError"), r.err());
        assertTrue(r.err().contains("Caused by: org.lorascripts.ffi.NativeUnavailableException"), r.err());
    }

    @Test void anErrorEscapingACommandIsReportedByTheCommandLine() {
        // TrainCommand catches Exceptions only; an Error must still not reach the JVM's default handler.
        Trainers.register(TaskType.IMAGE_GENERATION, () -> (c, r) -> { throw new ExceptionInInitializerError(MISSING); });
        try {
            CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", "examples/quickstart.yaml");
            assertEquals(2, r.code());
            assertEquals("error: " + MISSING.getMessage() + "\n", r.err());
        } finally {
            Trainers.reset();
        }
    }

    @Test void debugOptionIsAcceptedAfterTheSubcommand() {
        Trainers.register(TaskType.IMAGE_GENERATION, () -> (c, r) -> { throw new ExceptionInInitializerError(MISSING); });
        try {
            CliTrainCommandTest.Run r = CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", "examples/quickstart.yaml", "--debug");
            assertEquals(2, r.code());
            assertTrue(r.err().contains("\tat "), "--debug prints the trace: " + r.err());
            CliTrainCommandTest.Run again = CliTrainCommandTest.run(Main.newCommandLine(), "train", "--config", "examples/quickstart.yaml");
            assertFalse(again.err().contains("\tat "), "a new command line starts without --debug: " + again.err());
        } finally {
            Trainers.reset();
            ErrorReporter.setDebug(false);
        }
    }
}
