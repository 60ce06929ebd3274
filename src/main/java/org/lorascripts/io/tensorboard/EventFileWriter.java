package org.lorascripts.io.tensorboard;

import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

/**
 * Writes a TensorBoard event file, {@code events.out.tfevents.<unix seconds>.<hostname>} in the log
 * directory, as TensorFlow's EventsWriter names it. The first record is the
 * {@code file_version: "brain.Event:2"} event; every later one carries one summary value, or marks
 * a session start ({@link #addSessionStart}).
 *
 * <p>Threading: every public method is synchronized, so a training loop and, say, a sampling thread may
 * share one writer; a daemon thread flushes buffered records at least every {@code flushInterval}.
 * Records are buffered whole and reach the file in whole-record writes, so a crash leaves a file
 * whose complete records TensorBoard reads and whose torn tail, if any, it skips.
 */
public final class EventFileWriter implements Closeable {
    /** Flush pending records once this many bytes are buffered, whatever the timer says. */
    private static final int FLUSH_BYTES = 1 << 20;
    /** A START event is about 20 bytes; records longer than this (images, texts) need not be read to rule them out. */
    private static final int SESSION_START_MAX_BYTES = 64;

    /**
     * Injectable clock, hostname and flush period; tests pin the first two to get identical bytes.
     *
     * @param wallClockSeconds seconds since the Unix epoch, fractional; used for {@code wall_time} and the file name
     */
    public record Options(DoubleSupplier wallClockSeconds, String hostname, Duration flushInterval) {
        public Options {
            Objects.requireNonNull(wallClockSeconds, "wallClockSeconds");
            Objects.requireNonNull(hostname, "hostname");
            if (flushInterval.isNegative() || flushInterval.isZero()) {
                throw new IllegalArgumentException("flushInterval must be positive, got " + flushInterval);
            }
        }

        public static Options defaults() {
            return new Options(() -> System.currentTimeMillis() / 1000.0, localHostname(), Duration.ofSeconds(10));
        }

        public Options withWallClock(DoubleSupplier clock) {
            return new Options(clock, hostname, flushInterval);
        }

        public Options withHostname(String name) {
            return new Options(wallClockSeconds, name, flushInterval);
        }

        public Options withFlushInterval(Duration interval) {
            return new Options(wallClockSeconds, hostname, interval);
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final DoubleSupplier clock;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private final TfRecordWriter records = new TfRecordWriter(pending);
    private final ScheduledExecutorService flusher;
    private IOException backgroundFailure;
    private boolean closed;

    private EventFileWriter(Path file, FileChannel channel, DoubleSupplier clock, Duration flushInterval) {
        this.file = file;
        this.channel = channel;
        this.clock = clock;
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tensorboard-flush");
            t.setDaemon(true);
            return t;
        });
        long periodMs = Math.max(1, flushInterval.toMillis());
        flusher.scheduleWithFixedDelay(this::flushFromTimer, periodMs, periodMs, TimeUnit.MILLISECONDS);
    }

    public static EventFileWriter open(Path logDir) throws IOException {
        return open(logDir, Options.defaults());
    }

    public static EventFileWriter open(Path logDir, Options options) throws IOException {
        Files.createDirectories(logDir);
        double now = options.wallClockSeconds().getAsDouble();
        String base = "events.out.tfevents." + (long) Math.floor(now) + "." + sanitize(options.hostname());
        // Two writers started in the same second must not share a file; TensorBoard reads every
        // file whose name contains "tfevents", so a numeric suffix keeps both visible.
        for (int attempt = 0; ; attempt++) {
            Path candidate = logDir.resolve(attempt == 0 ? base : base + "." + attempt);
            try {
                FileChannel ch = FileChannel.open(candidate,
                        StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
                EventFileWriter writer = new EventFileWriter(candidate, ch, options.wallClockSeconds(),
                        options.flushInterval());
                try {
                    // On disk at once: a file with its header is a valid, empty run for TensorBoard.
                    writer.writeHeader(now);
                } catch (IOException | RuntimeException e) {
                    writer.close();
                    throw e;
                }
                return writer;
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 1000) throw e;
            }
        }
    }

    private synchronized void writeHeader(double wallTime) throws IOException {
        append(EventMessages.fileVersion(wallTime));
        writePending();
    }

    public Path file() {
        return file;
    }

    /**
     * Writes {@code session_log { status: START }} at {@code step} and flushes it at once, so it is on
     * disk ahead of every event that follows it. On reading it, TensorBoard's event accumulator (with
     * its default purge_orphaned_data) drops the events it has already loaded at steps {@code >= step}:
     * a run continuing from the checkpoint of step {@code step - 1} thereby hides what the interrupted
     * run logged after that checkpoint. Some TensorBoard versions treat the first START of a run as
     * the initial session and purge only on later ones; see {@link #hasSessionStart}.
     */
    public synchronized void addSessionStart(long step) throws IOException {
        append(EventMessages.sessionStart(clock.getAsDouble(), step));
        writePending();
    }

    /**
     * Whether an event file in {@code logDir} already holds a SessionLog START (searching small
     * records only, so large image events cost no reading). False when there are no event files.
     */
    public static boolean hasSessionStart(Path logDir) throws IOException {
        if (!Files.isDirectory(logDir)) return false;
        try (var files = Files.newDirectoryStream(logDir, p -> p.getFileName().toString().contains("tfevents")
                && Files.isRegularFile(p))) {
            for (Path f : files) {
                if (TfRecordReader.anyRecord(f, SESSION_START_MAX_BYTES, EventMessages::isSessionStart)) return true;
            }
        }
        return false;
    }

    /** Whether {@code logDir} holds event files (of an earlier run). */
    public static boolean hasEventFiles(Path logDir) throws IOException {
        if (!Files.isDirectory(logDir)) return false;
        try (var files = Files.newDirectoryStream(logDir, p -> p.getFileName().toString().contains("tfevents"))) {
            return files.iterator().hasNext();
        }
    }

    public synchronized void addScalar(String tag, float value, long step) throws IOException {
        append(EventMessages.scalar(clock.getAsDouble(), step, tag, value));
    }

    /**
     * Logs an encoded PNG. The colorspace TensorBoard stores (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) is
     * read from the PNG header; width and height must agree with it.
     */
    public synchronized void addImage(String tag, byte[] png, int width, int height, long step) throws IOException {
        int colorspace = PngHeader.colorspace(png, width, height);
        append(EventMessages.image(clock.getAsDouble(), step, tag, png, width, height, colorspace));
    }

    /** Logs markdown for TensorBoard's Text tab (plugin "text", DT_STRING tensor of shape [1]). */
    public synchronized void addText(String tag, String markdown, long step) throws IOException {
        append(EventMessages.text(clock.getAsDouble(), step, tag, markdown.getBytes(StandardCharsets.UTF_8)));
    }

    public synchronized void flush() throws IOException {
        ensureOpen();
        writePending();
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) return;
        closed = true;
        flusher.shutdown();   // not shutdownNow: an interrupt would close the FileChannel
        try {
            writePending();
        } finally {
            channel.close();
        }
        rethrowBackgroundFailure();
    }

    private void append(byte[] event) throws IOException {
        ensureOpen();
        records.write(event);
        if (pending.size() >= FLUSH_BYTES) {
            writePending();
        }
    }

    private void writePending() throws IOException {
        if (pending.size() == 0) return;
        ByteBuffer buf = ByteBuffer.wrap(pending.toByteArray());
        pending.reset();
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
    }

    private synchronized void flushFromTimer() {
        if (closed) return;
        try {
            writePending();
        } catch (IOException e) {
            // Surface on the training thread's next call rather than dying silently here.
            if (backgroundFailure == null) backgroundFailure = e;
        }
    }

    private void ensureOpen() throws IOException {
        if (closed) throw new IOException("event file writer is closed: " + file);
        rethrowBackgroundFailure();
    }

    private void rethrowBackgroundFailure() throws IOException {
        if (backgroundFailure != null) {
            IOException e = backgroundFailure;
            backgroundFailure = null;
            throw new IOException("background flush of " + file + " failed", e);
        }
    }

    private static String sanitize(String hostname) {
        String s = hostname.replaceAll("[/\\\\\\s]", "_");
        return s.isEmpty() ? "localhost" : s;
    }

    /** The kernel's node name, as Python's socket.gethostname() returns it; DNS is only the fallback. */
    static String localHostname() {
        try {
            Path proc = Path.of("/proc/sys/kernel/hostname");
            if (Files.isReadable(proc)) {
                String name = Files.readString(proc).strip();
                if (!name.isEmpty()) return name;
            }
        } catch (IOException | UncheckedIOException ignored) {
            // fall through to the JDK's lookup
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
