package org.lorascripts.gui;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs as child processes, with a shell standing in for the trainer (the real one runs in GuiBrowserTest):
 * progress from metrics.jsonl and the plan's "total steps" line, a failing child that leaves the server
 * unharmed, Stop's SIGINT, and the list of runs after a restart.
 */
class RunsTest {
    @TempDir Path work;

    static void waitFor(Runs.Run run, String state) throws InterruptedException {
        for (int i = 0; i < 200 && !run.state.equals(state); i++) TimeUnit.MILLISECONDS.sleep(50);
        assertEquals(state, run.state);
    }

    @Test
    void progressComesFromTheMetricsAndThePlan() throws Exception {
        Path out = Files.createDirectories(work.resolve("out/logs"));
        Files.createDirectories(work.resolve("out/samples"));
        Files.writeString(out.resolve("metrics.jsonl"), """
                {"step":10,"wall_time":1.0,"train/loss":0.5,"train/lr":0.001,"perf/steps_per_sec":2.0}
                {"step":14,"wall_time":1.5,"val/loss":0.7}
                {"step":20,"wall_time":2.0,"train/loss":0.25,"train/lr":0.0005,"perf/steps_per_sec":4.0}
                {"step":21,"wall_ti""");  // a half-written last line
        Files.writeString(work.resolve("out/samples/step-20-sample_0.png"), "png");
        Runs runs = new Runs(List.of("sh", "-c", "echo '  total steps            100 (max_steps)'; exec sleep 30", "sh"), work);
        Runs.Run run = runs.start("output_dir: " + work.resolve("out") + "\n", "demo", work.resolve("out"));
        for (int i = 0; i < 100 && !Runs.head(run.console()).contains("total steps"); i++) TimeUnit.MILLISECONDS.sleep(50);
        ObjectNode p = run.progress();
        assertEquals("running", p.get("state").asText());
        assertEquals(100, p.get("totalSteps").asLong());
        assertEquals(20, p.get("step").asLong());
        assertEquals(0.25, p.get("lossValue").asDouble());
        assertEquals(0.0005, p.get("lr").asDouble());
        assertEquals((100 - 20) / 4.0, p.get("etaSeconds").asDouble(), 1e-9);
        assertEquals("[[10,0.5],[20,0.25]]", p.get("loss").toString());
        assertEquals("[\"step-20-sample_0.png\"]", p.get("samples").toString());
        run.stop();
        waitFor(run, "stopped");  // sleep dies of the SIGINT: 128 + 2, as Java reports a signal's end
    }

    @Test
    void aFailingRunIsReportedAndListedAfterARestart() throws Exception {
        Runs runs = new Runs(List.of("sh", "-c", "echo boom; exit 3", "sh"), work);
        Runs.Run run = runs.start("output_dir: " + work.resolve("o") + "\n", "x", work.resolve("o"));
        waitFor(run, "failed");
        assertEquals(3, run.exitCode);
        assertTrue(Runs.tail(run.console()).contains("boom"));
        for (int i = 0; i < 100 && !Files.exists(run.dir.resolve("state")); i++) TimeUnit.MILLISECONDS.sleep(50);
        Runs again = new Runs(List.of("false"), work);
        again.loadPrevious();
        Runs.Run listed = again.get(run.id);
        assertEquals("failed", listed.state);
        assertEquals(3, listed.exitCode);
        assertEquals(work.resolve("o"), listed.outputDir);
    }

    @Test
    void stopSendsSigintAsCtrlCDoes() throws Exception {
        // a stand-in that answers SIGINT as the trainer does: exit 130
        Runs runs = new Runs(List.of("sh", "-c", "trap 'exit 130' INT; echo ready; while :; do sleep 0.1; done", "sh"), work);
        Runs.Run run = runs.start("output_dir: o\n", "s", work.resolve("o"));
        for (int i = 0; i < 100 && !Runs.tail(run.console()).contains("ready"); i++) TimeUnit.MILLISECONDS.sleep(50);
        run.stop();
        waitFor(run, "stopped");
        assertEquals(130, run.exitCode);
    }
}
