package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;
import org.lorascripts.tensor.Device;
import org.lorascripts.track.FakeMlflow;
import org.lorascripts.track.Trackers;

/**
 * log_with: mlflow through the training loop against a fake tracking server: the run gets the resolved
 * config as params, the metrics.jsonl rows as metrics (step and value), the LoRA and samples as files, and
 * FINISHED / KILLED at the end; with the server down training finishes and says so once.
 */
class TrainingLoopTrackerTest {
    @TempDir Path dir;

    private static TrainingResult run(LoopFixture f, ToyLoraTask task, Map<String, String> env) throws Exception {
        var options = f.options(new Resume.None())
                .withTrackers((config, console) -> Trackers.open(config, env, console, Duration.ofSeconds(60)));
        return new TrainingLoop(f.config(), task, Device.CPU, options).run();
    }

    @Test void theRunGetsTheSameRowsAsMetricsJsonlAndEndsFinished() throws Exception {
        try (FakeMlflow server = new FakeMlflow()) {
            LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2).set("eval_steps", 3).set("sample_every_n_steps", 4)
                    .set("log_interval", 2).set("log_with", "mlflow").set("log_tracker_name", "toy-experiment")
                    .set("lora_rank", 4);
            try (ToyLoraTask task = LoopFixture.task(10, 4, 0.0)) {
                task.emitSamples = true;
                TrainingResult r = run(f, task, server.env());
                assertFalse(r.interrupted());
            }
            FakeMlflow.Run run = server.onlyRun();
            assertEquals(server.experiments.get("toy-experiment"), run.experimentId);
            assertEquals("out", run.name, "the run is named after output_name by default");
            assertEquals("FINISHED", run.status);
            assertEquals("4", run.params.get("lora.rank"));
            assertEquals("toy-experiment", run.params.get("tracking.experiment"));
            assertEquals("[mlflow]", run.params.get("tracking.logWith"));

            // every metric row of metrics.jsonl, with the same step and value (and its wall time in ms)
            Set<String> jsonl = new HashSet<>();
            int rows = 0;
            for (String line : Files.readAllLines(dir.resolve("out/logs/metrics.jsonl"))) {
                JsonNode row = Json.parse(line);
                rows++;
                long step = row.get("step").asLong();
                for (String key : List.of("train/loss", "train/lr", "val/loss")) {
                    if (row.has(key)) jsonl.add(key + "@" + step + "=" + row.get(key).asDouble());
                }
                for (FakeMlflow.Metric m : run.metrics) {
                    if (m.step() == step) assertEquals(Math.round(row.get("wall_time").asDouble() * 1000), m.timestamp(), m.toString());
                }
            }
            Set<String> sent = new HashSet<>();
            for (FakeMlflow.Metric m : run.metrics) {
                if (List.of("train/loss", "train/lr", "val/loss").contains(m.key())) sent.add(m.key() + "@" + m.step() + "=" + m.value());
            }
            assertEquals(jsonl, sent);
            assertTrue(rows >= 5 && jsonl.size() >= 9, jsonl.toString());   // 5 train rows (10 steps / 2), 4 validations
            assertEquals(run.metrics.stream().map(m -> m.key() + "@" + m.step()).distinct().count(), run.metrics.size(), "no row twice");

            assertArrayEquals(Files.readAllBytes(dir.resolve("out/out.safetensors")), run.artifacts.get("out.safetensors"));
            for (long s : new long[] {4, 8, 10}) {
                assertArrayEquals(Files.readAllBytes(dir.resolve("out/samples/step-" + s + "-preview_0.png")),
                        run.artifacts.get("samples/step-" + s + "-preview_0.png"), "sample of step " + s);
            }
            assertFalse(f.console().contains("mlflow"), f.console());
        }
    }

    @Test void aRunStoppedByCtrlCEndsKilled() throws Exception {
        try (FakeMlflow server = new FakeMlflow()) {
            LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 4).set("report_to", List.of("tensorboard", "mlflow"))
                    .set("wandb_run_name", "named-run");
            f.stopAtStep = 3;
            try (ToyLoraTask task = LoopFixture.task(8, 0, 0.0)) {
                assertTrue(run(f, task, server.env()).interrupted());
            }
            FakeMlflow.Run run = server.onlyRun();
            assertEquals("KILLED", run.status);
            assertEquals("named-run", run.name);
            assertEquals("0", run.experimentId, "no experiment named: MLflow's Default");
            assertTrue(run.metrics.stream().anyMatch(m -> m.key().equals("train/loss") && m.step() == 3), run.metrics.toString());
        }
    }

    @Test void aRunThatFailsEndsFailed() throws Exception {
        try (FakeMlflow server = new FakeMlflow()) {
            LoopFixture f = new LoopFixture(dir.resolve("out")).set("max_steps", 3).set("log_with", "mlflow");
            // a non-empty folder where the LoRA file goes: the final export fails after the steps
            Files.createDirectories(dir.resolve("out/out.safetensors"));
            Files.writeString(dir.resolve("out/out.safetensors/keep"), "x");
            try (ToyLoraTask task = LoopFixture.task(4, 0, 0.0)) {
                org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> run(f, task, server.env()));
            }
            FakeMlflow.Run run = server.onlyRun();
            assertEquals("FAILED", run.status);
            assertTrue(run.metrics.stream().anyMatch(m -> m.key().equals("train/loss") && m.step() == 3), run.metrics.toString());
        }
    }

    @Test void theExperimentNameComesFromTheEnvironmentWhenTheConfigNamesNone() throws Exception {
        try (FakeMlflow server = new FakeMlflow()) {
            Map<String, String> env = new HashMap<>(server.env());
            env.put("MLFLOW_EXPERIMENT_NAME", "from-env");
            LoopFixture f = new LoopFixture(dir.resolve("out")).set("max_steps", 2).set("log_with", "all");
            try (ToyLoraTask task = LoopFixture.task(4, 0, 0.0)) {
                run(f, task, env);
            }
            assertEquals(server.experiments.get("from-env"), server.onlyRun().experimentId);
            assertEquals("FINISHED", server.onlyRun().status);
        }
    }

    @Test void withTheServerDownTrainingFinishesWithOneWarning() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2).set("log_with", "mlflow");
        try (ToyLoraTask task = LoopFixture.task(8, 2, 0.0)) {
            TrainingResult r = run(f, task, Map.of("MLFLOW_TRACKING_URI", "http://127.0.0.1:" + port));
            assertFalse(r.interrupted());
            assertEquals(8, r.steps());
        }
        String console = f.console();
        assertEquals(1, console.lines().filter(l -> l.contains("mlflow")).count(), console);
        assertTrue(console.contains("warning: mlflow: starting the run at http://127.0.0.1:" + port + " failed (cannot connect"), console);
        assertTrue(Files.exists(dir.resolve("out/out.safetensors")));
        assertTrue(Files.size(dir.resolve("out/logs/metrics.jsonl")) > 0);
    }

    @Test void withoutMlflowNoRequestIsMade() throws Exception {
        try (FakeMlflow server = new FakeMlflow()) {
            LoopFixture f = new LoopFixture(dir.resolve("out")).set("max_steps", 2).set("log_with", "none");
            try (ToyLoraTask task = LoopFixture.task(4, 0, 0.0)) {
                run(f, task, server.env());
            }
            LoopFixture all = new LoopFixture(dir.resolve("out2")).set("max_steps", 2).set("log_with", "all");
            try (ToyLoraTask task = LoopFixture.task(4, 0, 0.0)) {
                run(all, task, Map.of());   // all: mlflow only when MLFLOW_TRACKING_URI is set
            }
            assertTrue(server.endpoints.isEmpty(), server.endpoints.toString());
        }
    }
}
