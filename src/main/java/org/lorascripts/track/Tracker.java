package org.lorascripts.track;

import java.nio.file.Path;
import java.util.Map;

/**
 * An experiment tracker that a training run reports to besides its local logs: the run's params, the
 * metric rows the trainer writes to metrics.jsonl and TensorBoard, files (the LoRA, sample images) and
 * the final status. Every call returns at once and never throws: a tracker that cannot reach its
 * server says so once and drops what follows, and training goes on.
 */
public interface Tracker {
    /** How a run ended, in MLflow's words. */
    enum Status { FINISHED, FAILED, KILLED }

    /** The run's settings, by name (the resolved config). */
    void params(Map<String, String> params);

    /** One metric row: the values of {@code step}, logged at {@code timeMillis} (Unix epoch). */
    void metrics(long step, long timeMillis, Map<String, Double> values);

    /** A file of the run (or every file under a folder), stored under {@code folder} ("" for the top). */
    void artifact(Path file, String folder);

    /** Ends the run with {@code status}: waits a bounded time for what is queued to be sent. Idempotent. */
    void finish(Status status);

    /** No tracker. */
    Tracker NONE = new Tracker() {
        @Override public void params(Map<String, String> params) {}
        @Override public void metrics(long step, long timeMillis, Map<String, Double> values) {}
        @Override public void artifact(Path file, String folder) {}
        @Override public void finish(Status status) {}
    };
}
