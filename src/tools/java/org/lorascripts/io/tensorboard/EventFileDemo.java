package org.lorascripts.io.tensorboard;

import com.fasterxml.jackson.databind.node.ArrayNode;
import java.io.IOException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.Json;
import org.lorascripts.io.MetricsJsonl;
import org.lorascripts.io.PngWriter;

/**
 * Writes a known set of scalars, images and text to an event file, plus {@code expected.json}
 * describing them, so tools/check_tensorboard_events.py can verify the file with TensorBoard's own
 * reader on a machine where tensorboard is installed:
 * <pre>
 * java -cp target/classes org.lorascripts.io.tensorboard.EventFileDemo /tmp/tb
 * python3 tools/check_tensorboard_events.py /tmp/tb /tmp/tb/expected.json
 * </pre>
 */
public final class EventFileDemo {
    private final ArrayNode scalars = Json.array();
    private final ArrayNode images = Json.array();
    private final ArrayNode texts = Json.array();

    private EventFileDemo() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: EventFileDemo OUTPUT_DIR");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        Path events = new EventFileDemo().writeAll(dir);
        System.out.println("wrote " + events + " and " + dir.resolve("expected.json"));
    }

    private Path writeAll(Path dir) throws IOException {
        Path eventFile;
        int metricLines = 0;
        try (EventFileWriter tb = EventFileWriter.open(dir); MetricsJsonl jsonl = MetricsJsonl.open(dir)) {
            eventFile = tb.file();
            // Every tag's steps increase, as in a training loop: TensorBoard's accumulator treats a
            // step going backwards as a restart after a crash and purges the "orphaned" later steps.
            for (int step = 0; step < 20; step++) {
                // step 0 logs 0.0: simple_value sits in a oneof and must be on the wire even when zero.
                float loss = step == 0 ? 0.0f : 1.0f / step;
                float lr = 1e-4f * (20 - step) / 20;
                scalar(tb, "train/loss", loss, step);
                scalar(tb, "train/lr", lr, step);
                Map<String, Number> m = new LinkedHashMap<>();
                m.put("loss", loss);
                m.put("lr", lr);
                jsonl.append(step, System.currentTimeMillis() / 1000.0, m);
                metricLines++;
                switch (step) {
                    case 0 -> {
                        image(tb, "samples/rgb", gradient(32, 16, 3, 0), 32, 16, PngWriter.Channels.RGB, step);
                        image(tb, "samples/gray", gradient(5, 3, 1, 1), 5, 3, PngWriter.Channels.GRAY, step);
                        text(tb, "notes/config",
                                "# Run config\n\n| key | value |\n|---|---|\n| rank | 16 |\n| lr | 1e-4 |", step);
                    }
                    case 5 -> image(tb, "samples/rgba", gradient(8, 8, 4, 3), 8, 8, PngWriter.Channels.RGBA, step);
                    case 7 -> scalar(tb, "train/nan_loss", Float.NaN, step);
                    case 10 -> {
                        image(tb, "samples/rgb", gradient(32, 16, 3, 7), 32, 16, PngWriter.Channels.RGB, step);
                        text(tb, "notes/prompt", "a photo of **sks** dog — 犬, \"quoted\"\tand tab", step);
                    }
                    default -> { }
                }
            }
            scalar(tb, "train/big_step", -2.5f, 3_000_000_000L);   // step beyond int32
        }
        Json.writePrettyFile(dir.resolve("expected.json"), Json.object(
                "event_file", eventFile.getFileName().toString(),
                "scalars", scalars,
                "images", images,
                "texts", texts,
                "metrics_jsonl", Json.object("file", MetricsJsonl.FILE_NAME, "lines", metricLines)));
        return eventFile;
    }

    private void scalar(EventFileWriter tb, String tag, float value, long step) throws IOException {
        tb.addScalar(tag, value, step);
        // (double) value prints the float's exact value, so the check can compare tightly; NaN is null.
        scalars.add(Json.object("tag", tag, "step", step, "value", Json.numberOrNull((double) value)));
    }

    private void image(EventFileWriter tb, String tag, byte[] pixels, int w, int h, PngWriter.Channels ch, long step)
            throws IOException {
        tb.addImage(tag, PngWriter.encode(pixels, w, h, ch), w, h, step);
        int colorspace = switch (ch) {
            case GRAY -> 1;
            case RGB -> 3;
            case RGBA -> 4;
        };
        images.add(Json.object("tag", tag, "step", step, "width", w, "height", h, "colorspace", colorspace,
                "channels", ch.count, "pixels_sha256", sha256(pixels)));
    }

    private void text(EventFileWriter tb, String tag, String markdown, long step) throws IOException {
        tb.addText(tag, markdown, step);
        texts.add(Json.object("tag", tag, "step", step, "text", markdown));
    }

    /** A deterministic pattern where neighbouring pixels differ, so channel or row mix-ups show. */
    static byte[] gradient(int w, int h, int channels, int seed) {
        byte[] px = new byte[w * h * channels];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                for (int c = 0; c < channels; c++) {
                    px[(y * w + x) * channels + c] = (byte) (x * 37 + y * 91 + c * 53 + seed * 11);
                }
            }
        }
        return px;
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
