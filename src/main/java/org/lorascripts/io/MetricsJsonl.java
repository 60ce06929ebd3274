package org.lorascripts.io;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * {@code metrics.jsonl} beside the TensorBoard event files: one JSON object per line,
 * {@code {"step":N,"wall_time":S,"loss":...,...}}, for scripts that should not need a TensorBoard
 * reader. Each line is appended with a single write on an O_APPEND channel, so after a crash every
 * line but possibly the last is whole; a resumed run starts on a fresh line.
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

    public Path file() {
        return file;
    }

    /**
     * Appends one line. Integer-typed values print as integers, others as doubles; NaN and infinities
     * print as null. Keys keep the map's iteration order (use a LinkedHashMap for a stable column order).
     */
    public synchronized void append(long step, double wallTime, Map<String, ? extends Number> metrics)
            throws IOException {
        StringBuilder sb = new StringBuilder(64 + 24 * metrics.size());
        sb.append("{\"step\":").append(step).append(",\"wall_time\":").append(JsonLiterals.number(wallTime));
        for (Map.Entry<String, ? extends Number> e : metrics.entrySet()) {
            String key = e.getKey();
            if (key.equals("step") || key.equals("wall_time")) {
                throw new IllegalArgumentException("metric name '" + key + "' is reserved");
            }
            Number value = e.getValue();
            sb.append(',').append(JsonLiterals.string(key)).append(':')
                    .append(value == null ? "null" : JsonLiterals.number(value));
        }
        sb.append("}\n");
        writeFully(sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
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
