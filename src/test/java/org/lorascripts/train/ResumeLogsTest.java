package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.JsonReader;
import org.lorascripts.io.JsonValue;

/** What the logs say after a run is interrupted past its last checkpoint and resumed. */
class ResumeLogsTest {
    @TempDir Path dir;

    /**
     * A finished 10-step run resumed from its step-6 checkpoint stands for a run killed after logging
     * steps 7-10 past that checkpoint; the kill also tore the last metrics line.
     */
    private LoopFixture runThenResumeFromStep6() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2).set("save_steps", 3).set("eval_steps", 5);
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.2)) {
            f.run(task);
        }
        Files.writeString(f.outputDir.resolve("logs/metrics.jsonl"), "{\"step\":11,\"wall_ti", java.nio.file.StandardOpenOption.APPEND);
        f.steps.clear();
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.2)) {
            f.run(task, new Resume.From(f.outputDir.resolve("checkpoints/step-6")));
        }
        return f;
    }

    @Test void metricsJsonlHoldsEachStepOnceAfterAResume() throws Exception {
        LoopFixture f = runThenResumeFromStep6();
        List<JsonValue.Obj> rows = rows(f.outputDir);
        assertEquals(LongStream.rangeClosed(1, 10).boxed().toList(), rows.stream().map(r -> intOf(r, "step")).toList(),
                "one row per step, in order");
        for (int i = 0; i < 4; i++) {
            assertEquals(f.steps.get(i)[1], ((JsonValue.Dec) rows.get(6 + i).get("train/loss")).value(), 1e-12,
                    "step " + (7 + i) + " holds the resumed run's loss");
        }
        assertTrue(rows.get(4).get("val/loss") instanceof JsonValue.Dec, "validation shares the row of its step");
        try (Stream<Path> s = Files.list(f.outputDir.resolve("logs"))) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList());
        }
    }

    // --- reading the logs back ---

    static List<JsonValue.Obj> rows(Path outputDir) throws Exception {
        List<JsonValue.Obj> rows = new ArrayList<>();
        for (String line : Files.readAllLines(outputDir.resolve("logs/metrics.jsonl"))) rows.add((JsonValue.Obj) JsonReader.parse(line));
        return rows;
    }

    private static long intOf(JsonValue.Obj row, String key) { return ((JsonValue.Int) row.get(key)).value(); }
}
