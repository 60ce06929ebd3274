package org.lorascripts.track;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lorascripts.config.TrainConfig;

/**
 * The trackers a config's {@code log_with} (kohya) / {@code report_to} (Hugging Face) asks for. TensorBoard
 * events and metrics.jsonl are the run's own logs and always written; {@code mlflow} adds an
 * {@link MlflowTracker} (named, or through {@code all} when MLFLOW_TRACKING_URI is set); {@code wandb}
 * has no Java client (W&B's SDKs are Python, plus a Java wrapper of 2020 that ran the Python one and
 * never reached Maven Central), so it is a warning that says how to upload the logs afterwards
 * (tools/wandb_log_metrics.py; wandb 0.30.0 removed {@code wandb sync --sync-tensorboard}).
 */
public final class Trackers {
    private Trackers() {}

    /** MLflow's default experiment, where runs go when none is named. */
    public static final String DEFAULT_EXPERIMENT = "Default";

    /** How long the end of a run waits for queued requests and uploads. */
    public static final Duration FINISH_WAIT = Duration.ofMinutes(5);

    /**
     * Checks what can be checked before training: {@code mlflow} named without a usable
     * MLFLOW_TRACKING_URI is a {@link org.lorascripts.config.ConfigException} (one line).
     */
    public static void check(TrainConfig config, Map<String, String> env) {
        if (config.tracking().names("mlflow")) MlflowSettings.from(env);
        else if (config.tracking().wants("mlflow") && MlflowSettings.configured(env)) MlflowSettings.from(env);
    }

    /** Warnings about log_with for the start of a run (wandb). */
    public static List<String> warnings(TrainConfig config) {
        List<String> w = new ArrayList<>();
        if (config.tracking().wants("wandb")) {
            String logs = config.output().outputDir().resolve("logs").toString();
            String jsonl = logs + java.io.File.separator + "metrics.jsonl";
            w.add("log_with wandb: there is no Java client for Weights & Biases, so nothing is sent there; the metrics are in"
                    + " TensorBoard (tensorboard --logdir " + logs + ") and " + jsonl + ", which"
                    + " python3 tools/wandb_log_metrics.py --project PROJECT " + jsonl + " uploads"
                    + " (or, with wandb<=0.29.0, wandb sync --sync-tensorboard -p PROJECT " + logs + ")");
        }
        return w;
    }

    /** The tracker for {@code config}: {@link Tracker#NONE} or an MLflow run (started on a thread of its own). */
    public static Tracker open(TrainConfig config, Map<String, String> env, PrintStream console) {
        return open(config, env, console, FINISH_WAIT);
    }

    public static Tracker open(TrainConfig config, Map<String, String> env, PrintStream console, Duration finishWait) {
        TrainConfig.Tracking t = config.tracking();
        boolean mlflow = t.names("mlflow") || (t.wants("mlflow") && MlflowSettings.configured(env));
        if (!mlflow) return Tracker.NONE;
        MlflowSettings s = MlflowSettings.from(env);
        return MlflowTracker.start(s, experiment(t, s), t.runName(), console, finishWait);
    }

    /** log_tracker_name, else MLFLOW_EXPERIMENT_NAME, else MLflow's Default. */
    static String experiment(TrainConfig.Tracking t, MlflowSettings s) {
        return t.experiment().or(s::experiment).orElse(DEFAULT_EXPERIMENT);
    }
}
