package org.lorascripts.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/** log_with on the command line: mlflow without a server is one error line, wandb one warning with what to do instead. */
class CliTrackingTest {
    @Test void mlflowWithoutATrackingServerIsOneErrorLine() {
        assumeTrue(System.getenv("MLFLOW_TRACKING_URI") == null, "the process environment names a tracking server");
        CliTrainCommandTest.Run r = CliTrainCommandTest.run("train", "--config", "examples/quickstart.yaml", "--dry-run",
                "--set", "report_to=mlflow");
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("error:")).count(), r.err());
        assertTrue(r.err().contains("error: log_with mlflow: set MLFLOW_TRACKING_URI to the tracking server"), r.err());
        assertFalse(r.err().contains("at org."), "no stack trace");
    }

    @Test void wandbIsAWarningThatNamesTheTensorBoardLogsAndWandbSync() {
        CliTrainCommandTest.Run r = CliTrainCommandTest.run("train", "--config", "examples/quickstart.yaml", "--dry-run",
                "--set", "log_with=wandb");
        assertEquals(0, r.code(), r.err());
        var lines = r.err().lines().filter(l -> l.contains("wandb")).toList();
        assertEquals(1, lines.size(), r.err());
        String w = lines.getFirst();
        assertTrue(w.startsWith("warning: --set log_with=wandb: log_with wandb: there is no Java client for Weights & Biases"), w);
        assertTrue(w.contains("tensorboard --logdir ") && w.contains("python3 tools/wandb_log_metrics.py --project PROJECT ")
                && w.contains("metrics.jsonl uploads") && w.contains("wandb sync --sync-tensorboard -p PROJECT "), w);
    }

    @Test void allWithoutAServerTrainsWithTensorBoardAndSaysWhyNoWandb() {
        assumeTrue(System.getenv("MLFLOW_TRACKING_URI") == null, "the process environment names a tracking server");
        CliTrainCommandTest.Run r = CliTrainCommandTest.run("train", "--config", "examples/quickstart.yaml", "--dry-run",
                "--set", "log_with=all");
        assertEquals(0, r.code(), r.err());
        assertFalse(r.err().contains("error:"), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.contains("no Java client")).count(), r.err());
    }
}
