package org.lorascripts.train;

import org.lorascripts.io.FileTrees;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.io.MetricsJsonl;
import org.lorascripts.io.tensorboard.EventFileWriter;

/**
 * The run's logs: TensorBoard events and {@code metrics.jsonl} in {@code output_dir/logs/}, sample
 * images and texts in {@code output_dir/samples/}. Every scalar goes to both log files, so scripts
 * and TensorBoard see the same numbers. A failed write stops the run with a one-line error.
 */
final class RunLog implements AutoCloseable {
    static final String LOGS = "logs";
    static final String SAMPLES = "samples";

    private final Path logDir;
    private final Path sampleDir;
    private final EventFileWriter events;
    private final MetricsJsonl metrics;

    private RunLog(Path logDir, Path sampleDir, EventFileWriter events, MetricsJsonl metrics) {
        this.logDir = logDir;
        this.sampleDir = sampleDir;
        this.events = events;
        this.metrics = metrics;
    }

    static RunLog open(Path outputDir) {
        Path logDir = outputDir.resolve(LOGS);
        EventFileWriter ev = null;
        try {
            ev = EventFileWriter.open(logDir);
            return new RunLog(logDir, outputDir.resolve(SAMPLES), ev, MetricsJsonl.open(logDir));
        } catch (IOException e) {
            try {
                if (ev != null) ev.close();
            } catch (IOException ignored) {
                // the open failure is the one to report
            }
            throw failure(logDir, e);
        }
    }

    /** One row of scalars at {@code step}; NaN values are left out of TensorBoard (JSON writes null). */
    void scalars(long step, Map<String, Double> values) {
        try {
            for (var e : values.entrySet()) {
                if (Double.isFinite(e.getValue())) events.addScalar(e.getKey(), e.getValue().floatValue(), step);
            }
            metrics.append(step, System.currentTimeMillis() / 1000.0, new LinkedHashMap<>(values));
        } catch (IOException e) {
            throw failure(logDir, e);
        }
    }

    void text(String tag, String markdown, long step) {
        try {
            events.addText(tag, markdown, step);
        } catch (IOException e) {
            throw failure(logDir, e);
        }
    }

    /** A sink for the samples of step {@code step}. */
    SampleSink samples(long step) {
        return new SampleSink() {
            @Override public void image(String tag, byte[] png, int width, int height) {
                try {
                    events.addImage(tag, png, width, height, step);
                    AtomicFileWriter.write(sampleDir.resolve("step-" + step + "-" + fileSafe(tag) + ".png"), png);
                } catch (IOException e) {
                    throw failure(sampleDir, e);
                }
            }

            @Override public void text(String tag, String text) {
                try {
                    events.addText(tag, text, step);
                    AtomicFileWriter.write(sampleDir.resolve("step-" + step + "-" + fileSafe(tag) + ".txt"),
                            text.getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw failure(sampleDir, e);
                }
            }
        };
    }

    static String fileSafe(String tag) {
        String s = tag.replaceAll("[^A-Za-z0-9._-]+", "_");
        return s.isEmpty() ? "sample" : s;
    }

    private static TrainingException failure(Path where, IOException e) {
        return new TrainingException("could not write logs in " + where + ": " + FileTrees.describe(e)
                + "; free disk space or fix the folder, then resume with --resume latest", e);
    }

    @Override public void close() {
        IOException first = null;
        try {
            events.close();
        } catch (IOException e) {
            first = e;
        }
        try {
            metrics.close();
        } catch (IOException e) {
            if (first == null) first = e;
        }
        if (first != null) throw failure(logDir, first);
    }
}
