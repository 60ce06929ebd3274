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
import org.lorascripts.track.Tracker;

/**
 * The run's logs: TensorBoard events and {@code metrics.jsonl} in {@code output_dir/logs/}, sample
 * images and texts in {@code output_dir/samples/}. Every scalar goes to both log files, so scripts
 * and TensorBoard see the same numbers; {@code metrics.jsonl} gets one row per step, written when
 * the step's scalars are all known ({@link #endStep}). A failed write stops the run with a one-line
 * error.
 *
 * <p>Resume: a run continuing after step s hides what an interrupted run logged after s (it went on
 * past its last checkpoint, and those steps are about to be trained again): metrics.jsonl loses its
 * rows after s, and the new event file starts with a SessionLog START at step s + 1, which makes
 * TensorBoard drop the older events from step s + 1 on. Before a checkpoint the logs are flushed
 * ({@link #flush}), so a checkpoint never holds steps whose rows a kill could still lose.
 *
 * <p>A {@link Tracker} (MLflow, from log_with) gets the same rows: each step's finite scalars when the
 * step's row is written, the sample files once written, and the files named by {@link #artifact}. It
 * queues and never throws, so it cannot stop or slow the run.
 */
final class RunLog implements AutoCloseable {
    static final String LOGS = "logs";
    static final String SAMPLES = "samples";

    private final Path logDir;
    private final Path sampleDir;
    private final EventFileWriter events;
    private final MetricsJsonl metrics;
    private final Tracker tracker;
    /** The current step's finite scalars, for the tracker. */
    private final Map<String, Double> trackedRow = new LinkedHashMap<>();
    /** The metrics.jsonl row of the current step, until {@link #endStep}. */
    private final Map<String, Object> row = new LinkedHashMap<>();
    private long rowStep = -1;
    private double rowWallTime;

    private RunLog(Path logDir, Path sampleDir, EventFileWriter events, MetricsJsonl metrics, Tracker tracker) {
        this.logDir = logDir;
        this.sampleDir = sampleDir;
        this.events = events;
        this.metrics = metrics;
        this.tracker = tracker;
    }

    /** Logs that write nothing: those of a data-parallel rank other than 0 (rank 0 logs the run). */
    static RunLog discarding() { return new RunLog(null, null, null, null, Tracker.NONE); }

    /** Opens the logs of a run whose first new step is {@code lastKeptStep + 1} (0 for a fresh run). */
    static RunLog open(Path outputDir, long lastKeptStep) {
        return open(outputDir, lastKeptStep, Tracker.NONE);
    }

    /** The same, with {@code tracker} receiving the rows too. */
    static RunLog open(Path outputDir, long lastKeptStep, Tracker tracker) {
        Path logDir = outputDir.resolve(LOGS);
        EventFileWriter ev = null;
        MetricsJsonl jsonl = null;
        try {
            // Recent TensorBoards take a run's first START for its initial session and purge only on a
            // later one. Event files written before START events were logged hold none, so this run
            // then writes two: the first stands in for the earlier run's, the second purges.
            boolean startMissing = EventFileWriter.hasEventFiles(logDir) && !EventFileWriter.hasSessionStart(logDir);
            jsonl = MetricsJsonl.openAfter(logDir, lastKeptStep);
            ev = EventFileWriter.open(logDir);
            if (startMissing) ev.addSessionStart(lastKeptStep + 1);
            ev.addSessionStart(lastKeptStep + 1);
            return new RunLog(logDir, outputDir.resolve(SAMPLES), ev, jsonl, tracker);
        } catch (IOException e) {
            closeQuietly(ev, jsonl);
            throw failure(logDir, e);
        }
    }

    /** Scalars at {@code step}; NaN values are left out of TensorBoard (JSON writes null). */
    void scalars(long step, Map<String, Double> values) {
        scalars(step, values, Map.of());
    }

    /**
     * Scalars at {@code step}, and {@code notes} for metrics.jsonl only: facts about a row (such as
     * how many steps a mean covers) that would be noise as TensorBoard charts.
     */
    void scalars(long step, Map<String, Double> values, Map<String, ?> notes) {
        if (events == null) return;
        try {
            for (var e : values.entrySet()) {
                if (Double.isFinite(e.getValue())) events.addScalar(e.getKey(), e.getValue().floatValue(), step);
            }
            if (rowStep != step) {
                endStep();
                rowStep = step;
                rowWallTime = System.currentTimeMillis() / 1000.0;
            }
            row.putAll(values);
            row.putAll(notes);
            for (var e : values.entrySet()) {
                if (Double.isFinite(e.getValue())) trackedRow.put(e.getKey(), e.getValue());
            }
        } catch (IOException e) {
            throw failure(logDir, e);
        }
    }

    /** Writes the current step's metrics.jsonl row, if it has one. */
    void endStep() {
        if (row.isEmpty() || events == null) return;
        try {
            metrics.append(rowStep, rowWallTime, row);
            tracker.metrics(rowStep, Math.round(rowWallTime * 1000), trackedRow);
        } catch (IOException e) {
            throw failure(logDir, e);
        } finally {
            row.clear();
            trackedRow.clear();
        }
    }

    /** The run's params (the resolved config) for the tracker. */
    void params(Map<String, String> params) { tracker.params(params); }

    /** A file the run made (the LoRA), for the tracker's artifacts. */
    void artifact(Path file) { tracker.artifact(file, ""); }

    /** Everything logged so far into the files (the OS's, not necessarily the disk's). */
    void flush() {
        if (events == null) return;
        endStep();
        try {
            events.flush();
        } catch (IOException e) {
            throw failure(logDir, e);
        }
    }

    void text(String tag, String markdown, long step) {
        if (events == null) return;
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
                    Path file = sampleDir.resolve("step-" + step + "-" + fileSafe(tag) + ".png");
                    AtomicFileWriter.write(file, png);
                    tracker.artifact(file, SAMPLES);
                } catch (IOException e) {
                    throw failure(sampleDir, e);
                }
            }

            @Override public void text(String tag, String text) {
                try {
                    events.addText(tag, text, step);
                    Path file = sampleDir.resolve("step-" + step + "-" + fileSafe(tag) + ".txt");
                    AtomicFileWriter.write(file, text.getBytes(StandardCharsets.UTF_8));
                    tracker.artifact(file, SAMPLES);
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

    private static void closeQuietly(EventFileWriter ev, MetricsJsonl jsonl) {
        try {
            if (ev != null) ev.close();
        } catch (IOException ignored) {
            // the open failure is the one to report
        }
        try {
            if (jsonl != null) jsonl.close();
        } catch (IOException ignored) {
            // likewise
        }
    }

    @Override public void close() {
        if (events == null) return;
        TrainingException rowFailure = null;
        try {
            endStep();
        } catch (TrainingException e) {
            rowFailure = e;  // still close both files
        }
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
        if (rowFailure != null) throw rowFailure;
        if (first != null) throw failure(logDir, first);
    }
}
