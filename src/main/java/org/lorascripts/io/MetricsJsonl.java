package org.lorascripts.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;

/**
 * {@code metrics.jsonl} beside the TensorBoard event files: one JSON object per line,
 * {@code {"step":N,"wall_time":S,"loss":...,...}}, for scripts that should not need a TensorBoard
 * reader. Each line is appended with a single write on an O_APPEND channel, so after a crash every
 * line but possibly the last is whole. Lines are {@link Json#write}'s compact form; doubles are
 * Java's shortest round-trip text ({@code 1.0E-4}, {@code 0.25}), as they have been since the file
 * was first written, so rows of one run written before and after an upgrade look alike.
 *
 * <p>A run that continues from a checkpoint opens the file with {@link #openAfter}: the rows the
 * interrupted run wrote after that checkpoint are about to be written again, so they are removed
 * first, together with a torn last line, by rewriting the file atomically. Readers then find each
 * step at most once, and only whole lines.
 */
public final class MetricsJsonl implements Closeable {
    public static final String FILE_NAME = "metrics.jsonl";

    private final Path file;
    private final FileChannel channel;

    private MetricsJsonl(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** Opens (creating or appending to) {@code logDir/metrics.jsonl}. */
    public static MetricsJsonl open(Path logDir) throws IOException {
        Files.createDirectories(logDir);
        Path file = logDir.resolve(FILE_NAME);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
        MetricsJsonl jsonl = new MetricsJsonl(file, ch);
        if (ch.size() > 0 && !endsWithNewline(file, ch.size())) {
            // A crashed run left half a line; terminate it so our first line parses on its own.
            jsonl.writeFully("\n".getBytes(StandardCharsets.UTF_8));
        }
        return jsonl;
    }

    /**
     * Opens {@code logDir/metrics.jsonl} for a run that writes the steps after {@code lastKeptStep}:
     * rows with a larger step and lines that are not a whole JSON object with a step are dropped
     * before the first append. The file is rewritten (temp file, fsync, rename) only when something
     * is dropped, so a reader sees the old file or the cleaned one, never a mix.
     */
    public static MetricsJsonl openAfter(Path logDir, long lastKeptStep) throws IOException {
        Files.createDirectories(logDir);
        Path file = logDir.resolve(FILE_NAME);
        removeStrayTemps(logDir);
        if (Files.exists(file)) {
            byte[] old = Files.readAllBytes(file);
            byte[] kept = rowsThrough(old, lastKeptStep);
            if (!Arrays.equals(kept, old)) AtomicFileWriter.write(file, kept);
        }
        return open(logDir);
    }

    public Path file() {
        return file;
    }

    /**
     * Appends one line. Integer-typed values print as integers, others as doubles; NaN and infinities
     * print as null; Booleans as true/false (flags such as {@code "partial"}). Keys keep the map's
     * iteration order (use a LinkedHashMap for a stable column order).
     */
    public synchronized void append(long step, double wallTime, Map<String, ?> metrics) throws IOException {
        writeFully(line(step, wallTime, metrics));
    }

    /** One row as the bytes {@link #append} writes, the final newline included. */
    static byte[] line(long step, double wallTime, Map<String, ?> metrics) {
        ObjectNode row = Json.object("step", step, "wall_time", Json.numberOrNull(wallTime));
        for (Map.Entry<String, ?> e : metrics.entrySet()) {
            String key = e.getKey();
            if (key.equals("step") || key.equals("wall_time")) {
                throw new IllegalArgumentException("metric name '" + key + "' is reserved");
            }
            row.set(key, value(key, e.getValue()));
        }
        return (Json.write(row) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }

    /**
     * Whole-number types stay integers; every other number (Float, BigDecimal, ...) is written as
     * its double, so a float loss of 0.1f reads 0.10000000149011612, its exact value, as always.
     */
    private static JsonNode value(String key, Object value) {
        return switch (value) {
            case null -> NullNode.instance;
            case Long l -> LongNode.valueOf(l);
            case Integer i -> LongNode.valueOf(i);
            case Short sh -> LongNode.valueOf(sh);
            case Byte b -> LongNode.valueOf(b);
            case Number n -> Json.numberOrNull(n.doubleValue());
            case Boolean b -> BooleanNode.valueOf(b);
            default -> throw new IllegalArgumentException("metric '" + key + "' is a " + value.getClass().getSimpleName()
                    + "; only numbers, booleans and null are written");
        };
    }

    /**
     * The lines of {@code jsonl} that parse as an object whose "step" is at most {@code lastKeptStep},
     * byte for byte, each ending in a newline. A line that does not parse is the remains of a write
     * cut short by a kill (possibly terminated since by {@link #open}); it holds no whole row.
     */
    static byte[] rowsThrough(byte[] jsonl, long lastKeptStep) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(jsonl.length);
        int start = 0;
        while (start < jsonl.length) {
            int end = start;
            while (end < jsonl.length && jsonl[end] != '\n') end++;
            byte[] line = Arrays.copyOfRange(jsonl, start, end);
            long step = stepOf(line);
            if (step >= 0 && step <= lastKeptStep) {
                out.writeBytes(line);
                out.write('\n');
            }
            start = end + 1;
        }
        return out.toByteArray();
    }

    /** The row's step, or -1 when the line is not a whole row. */
    private static long stepOf(byte[] line) {
        try {
            JsonNode step = Json.parse(line).get("step");
            if (step != null && step.isIntegralNumber() && step.canConvertToLong()) return step.longValue();
        } catch (Json.Malformed e) {
            // falls through: a torn line, not a whole row
        }
        return -1;
    }

    /** Leftovers of a rewrite that was killed before its rename; the real file is still the old one. */
    private static void removeStrayTemps(Path logDir) throws IOException {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(logDir, "." + FILE_NAME + ".*.tmp")) {
            for (Path p : ds) Files.deleteIfExists(p);
        }
    }

    private void writeFully(byte[] bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
    }

    private static boolean endsWithNewline(Path file, long size) throws IOException {
        try (FileChannel read = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer last = ByteBuffer.allocate(1);
            read.read(last, size - 1);
            return last.get(0) == '\n';
        }
    }
}
