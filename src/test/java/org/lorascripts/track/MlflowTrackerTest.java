package org.lorascripts.track;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.config.ConfigException;

/** The MLflow REST client against {@link FakeMlflow}: run creation, batching within log-batch's limits, status, uploads, failures. */
class MlflowTrackerTest {
    @TempDir Path dir;

    private final ByteArrayOutputStream consoleBytes = new ByteArrayOutputStream();
    private final PrintStream console = new PrintStream(consoleBytes, true, StandardCharsets.UTF_8);

    private String console() { return consoleBytes.toString(StandardCharsets.UTF_8); }

    private static long lines(String text, String start) {
        return text.lines().filter(l -> l.startsWith(start)).count();
    }

    @Test
    void createsTheExperimentAndRunAndSendsParamsMetricsStatusAndFiles() throws Exception {
        try (FakeMlflow server = new FakeMlflow()) {
            MlflowSettings s = MlflowSettings.from(server.env());
            MlflowTracker t = MlflowTracker.start(s, "my-lora", "style-v1", console, Duration.ofSeconds(30));
            Map<String, String> params = new LinkedHashMap<>();
            for (int i = 0; i < 130; i++) params.put("key" + i, "value" + i);   // two log-batch requests (100 params at most)
            params.put("long", "x".repeat(700));                                  // cut to 500 characters
            t.params(params);
            for (int step = 1; step <= 2500; step++) {                           // several requests of at most 1000 metrics
                t.metrics(step, 1_700_000_000_000L + step, Map.of("loss", 1.0 / step));
            }
            t.metrics(2500, 1_700_000_002_500L, Map.of("val_loss", 0.25));
            Path lora = Files.write(dir.resolve("style-v1.safetensors"), new byte[] {1, 2, 3, 4});
            Path peft = Files.createDirectories(dir.resolve("adapter"));
            Files.writeString(peft.resolve("adapter_config.json"), "{}");
            Files.createDirectories(peft.resolve("sub"));
            Files.write(peft.resolve("sub").resolve("w b.bin"), new byte[] {9});
            t.artifact(lora, "");
            t.artifact(peft, "");
            t.finish(Tracker.Status.FINISHED);

            assertEquals("101", server.experiments.get("my-lora"), "the missing experiment is created");
            FakeMlflow.Run run = server.onlyRun();
            assertEquals("101", run.experimentId);
            assertEquals("style-v1", run.name);
            assertEquals("style-v1", run.tags.get("mlflow.runName"));
            assertEquals(131, run.params.size());
            assertEquals("value129", run.params.get("key129"));
            assertEquals(500, run.params.get("long").length());
            assertEquals(2501, run.metrics.size());
            for (int step = 1; step <= 2500; step++) {
                FakeMlflow.Metric m = run.metrics.get(step - 1);
                assertEquals(new FakeMlflow.Metric("loss", 1.0 / step, step, 1_700_000_000_000L + step), m);
            }
            assertEquals(new FakeMlflow.Metric("val_loss", 0.25, 2500, 1_700_000_002_500L), run.metrics.get(2500));
            assertEquals("FINISHED", run.status);
            assertTrue(run.endTime > 0);
            assertArrayEquals(new byte[] {1, 2, 3, 4}, run.artifacts.get("style-v1.safetensors"));
            assertArrayEquals("{}".getBytes(StandardCharsets.UTF_8), run.artifacts.get("adapter/adapter_config.json"));
            assertArrayEquals(new byte[] {9}, run.artifacts.get("adapter/sub/w b.bin"));
            long batches = server.endpoints.stream().filter(e -> e.equals("POST runs/log-batch")).count();
            assertTrue(batches >= 5 && batches < 200, "metrics travel in batches, got " + batches + " requests");
            assertEquals("", console(), "nothing to say when all went well");
        }
    }

    @Test
    void reusesAnExistingExperimentAndSendsTheCredentials() throws Exception {
        try (FakeMlflow server = new FakeMlflow()) {
            server.experiments.put("team", "7");
            Map<String, String> env = new HashMap<>(server.env());
            env.put("MLFLOW_TRACKING_TOKEN", "secret-token");
            env.put("MLFLOW_TRACKING_USERNAME", "ignored-when-a-token-is-set");
            MlflowTracker t = MlflowTracker.start(MlflowSettings.from(env), "team", "r", console, Duration.ofSeconds(30));
            t.metrics(1, 1L, Map.of("loss", 0.5));
            t.finish(Tracker.Status.KILLED);
            assertEquals("7", server.onlyRun().experimentId);
            assertEquals(2, server.experiments.size(), "no experiment created");
            assertEquals("KILLED", server.onlyRun().status);
            assertFalse(server.authorizations.isEmpty());
            assertTrue(server.authorizations.stream().allMatch("Bearer secret-token"::equals), server.authorizations.toString());

            Map<String, String> basic = new HashMap<>(server.env());
            basic.put("MLFLOW_TRACKING_USERNAME", "ann");
            basic.put("MLFLOW_TRACKING_PASSWORD", "pw");
            assertEquals("Basic YW5uOnB3", MlflowSettings.from(basic).authorization().orElseThrow());   // base64("ann:pw")
            assertFalse(MlflowSettings.from(basic).toString().contains("pw"), "credentials never printed");
        }
    }

    @Test
    void aServerThatIsDownGivesOneWarningAndNeverBlocks() throws Exception {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        MlflowSettings s = MlflowSettings.from(Map.of("MLFLOW_TRACKING_URI", "http://127.0.0.1:" + port));
        MlflowTracker t = MlflowTracker.start(s, "Default", "r", console, Duration.ofSeconds(30));
        long start = System.nanoTime();
        t.params(Map.of("a", "b"));
        for (int i = 0; i < 10_000; i++) t.metrics(i, i, Map.of("loss", 1.0));   // more than the queue holds: dropped, not waited for
        t.artifact(dir, "");
        assertTrue(System.nanoTime() - start < 2_000_000_000L, "logging returns at once");
        t.finish(Tracker.Status.FINISHED);
        t.finish(Tracker.Status.FINISHED);   // idempotent
        String out = console();
        assertEquals(1, lines(out, "warning: mlflow: "), out);
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.contains("127.0.0.1:" + port) && out.contains("training goes on"), out);
    }

    @Test
    void aRejectedRequestIsOneWarningWithTheServersMessage() throws Exception {
        try (FakeMlflow server = new FakeMlflow()) {
            MlflowTracker t = MlflowTracker.start(MlflowSettings.from(server.env()), "e", "r", console, Duration.ofSeconds(30));
            t.params(Map.of("lr", "1"));
            t.params(Map.of("lr", "2"));   // MLflow refuses to change a param
            t.metrics(1, 1, Map.of("loss", 1.0));
            long start = System.nanoTime();
            t.finish(Tracker.Status.FINISHED);
            assertTrue(System.nanoTime() - start < 5_000_000_000L, "after a failure, finish does not wait out its limit");
            String out = console();
            assertEquals(1, out.lines().count(), out);
            assertTrue(out.startsWith("warning: mlflow: sending params at ") && out.contains("INVALID_PARAMETER_VALUE"), out);
            assertEquals("RUNNING", server.onlyRun().status, "nothing is sent after the failure");
        }
    }

    @Test
    void artifactsOnAStoreTheServerDoesNotServeAreANoteAndMetricsStillGo() throws Exception {
        try (FakeMlflow server = new FakeMlflow()) {
            server.artifactStore = "s3://bucket/mlruns";
            MlflowTracker t = MlflowTracker.start(MlflowSettings.from(server.env()), "e", "r", console, Duration.ofSeconds(30));
            Path f = Files.write(dir.resolve("a.png"), new byte[] {1});
            t.artifact(f, "samples");
            t.artifact(f, "samples");
            t.metrics(3, 3, Map.of("loss", 2.0));
            t.finish(Tracker.Status.FINISHED);
            String out = console();
            assertEquals(1, out.lines().count(), out);
            assertTrue(out.startsWith("note: mlflow: the run's artifacts go to s3://bucket/mlruns/"), out);
            assertEquals(List.of(new FakeMlflow.Metric("loss", 2.0, 3, 3)), server.onlyRun().metrics);
            assertEquals("FINISHED", server.onlyRun().status);
            assertTrue(server.onlyRun().artifacts.isEmpty());
        }
    }

    @Test
    void artifactUrisMapToTheArtifactProxy() {
        URI tracking = URI.create("https://host.example:5000");
        assertEquals(URI.create("https://host.example:5000/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts"),
                MlflowTracker.artifactBase(tracking, "mlflow-artifacts:/3/abc/artifacts"));
        assertEquals(URI.create("https://other:80/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts"),
                MlflowTracker.artifactBase(tracking, "mlflow-artifacts://other:80/3/abc/artifacts"));
        assertEquals(URI.create("http://h/mlflow/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts"),
                MlflowTracker.artifactBase(URI.create("http://h/mlflow"), "mlflow-artifacts:/0/r/artifacts"));
        assertNull(MlflowTracker.artifactBase(tracking, "s3://b/0/abc/artifacts"));
        assertNull(MlflowTracker.artifactBase(tracking, "file:///tmp/mlruns/0/abc/artifacts"));
    }

    @Test
    void settingsErrorsAreOneLine() {
        var none = assertThrows(ConfigException.class, () -> MlflowSettings.from(Map.of()));
        assertTrue(none.getMessage().contains("MLFLOW_TRACKING_URI=http://127.0.0.1:5000"), none.getMessage());
        for (String bad : List.of("./mlruns", "file:///tmp/mlruns", "databricks", "sqlite:///m.db", "http://")) {
            var e = assertThrows(ConfigException.class, () -> MlflowSettings.from(Map.of("MLFLOW_TRACKING_URI", bad)), bad);
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            assertTrue(e.getMessage().startsWith("MLFLOW_TRACKING_URI=" + bad), e.getMessage());
        }
        MlflowSettings ok = MlflowSettings.from(Map.of("MLFLOW_TRACKING_URI", " http://127.0.0.1:5000/ ", "MLFLOW_EXPERIMENT_NAME", "x"));
        assertEquals(URI.create("http://127.0.0.1:5000"), ok.uri());
        assertEquals("x", ok.experiment().orElseThrow());
    }
}
