package org.lorascripts.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;
import org.lorascripts.io.tensorboard.EventFileWriter;
import org.lorascripts.io.tensorboard.TfRecordReader;

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
        List<JsonNode> rows = rows(f.outputDir);
        assertEquals(LongStream.rangeClosed(1, 10).boxed().toList(), rows.stream().map(r -> intOf(r, "step")).toList(),
                "one row per step, in order");
        for (int i = 0; i < 4; i++) {
            assertEquals(f.steps.get(i)[1], loss(rows.get(6 + i)), 1e-12,
                    "step " + (7 + i) + " holds the resumed run's loss");
        }
        assertTrue(rows.get(4).get("val/loss").isDouble(), "validation shares the row of its step");
        try (Stream<Path> s = Files.list(f.outputDir.resolve("logs"))) {
            assertEquals(List.of(), s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".tmp")).toList());
        }
    }

    @Test void theResumedEventFileStartsWithASessionStartAfterTheCheckpointStep() throws Exception {
        LoopFixture f = runThenResumeFromStep6();
        List<Path> files = eventFiles(f.outputDir);
        assertEquals(2, files.size());
        List<byte[]> resumed = TfRecordReader.read(files.get(1)).records();
        assertEquals("brain.Event:2", new String((byte[]) fields(resumed.get(0)).get(3).getFirst()), "file_version first");
        Map<Integer, List<Object>> start = fields(resumed.get(1));
        assertEquals(Set.of(1, 2, 7), start.keySet(), "wall_time, step, session_log");
        assertTrue(Double.longBitsToDouble((Long) start.get(1).getFirst()) > 1.6e9, "wall_time in seconds");
        assertEquals(7L, start.get(2).getFirst(), "the first step the resumed run trains");
        assertEquals(Map.of(1, List.of(1L)), fields((byte[]) start.get(7).getFirst()), "status: START");
        assertEquals(1, startSteps(files.get(1)).size(), "the first run wrote its own START");
        assertEquals(List.of(1L), startSteps(files.get(0)));

        Map<String, List<Long>> shown = tensorBoardView(f.outputDir);
        assertEquals(LongStream.rangeClosed(1, 10).boxed().toList(), shown.get("train/loss"));
        assertEquals(List.of(5L, 10L), shown.get("val/loss"));
    }

    @Test void logsOfARunWithoutStartEventsGetOneToStandInForIt() throws Exception {
        Path logs = dir.resolve("out/logs");
        EventFileWriter.Options before = EventFileWriter.Options.defaults().withHostname("earlier").withWallClock(() -> 1.6e9);
        try (EventFileWriter old = EventFileWriter.open(logs, before)) {
            for (int s = 1; s <= 3; s++) old.addScalar("train/loss", 9f, s);
        }
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 1);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            f.run(task);
        }
        Path ours = eventFiles(f.outputDir).stream().filter(p -> !p.toString().endsWith("earlier")).findFirst().orElseThrow();
        assertEquals(List.of(1L, 1L), startSteps(ours), "the first START is taken as the earlier run's");
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), tensorBoardView(f.outputDir).get("train/loss"));
    }

    /** log_interval 4, stopped by Ctrl-C at step 10: the row of step 12 averages 9-12, as without the stop. */
    @Test void theFirstLossAfterAResumeAveragesAWholeWindow() throws Exception {
        LoopFixture whole = new LoopFixture(dir.resolve("whole")).set("log_interval", 4);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.3)) {
            whole.run(task);
        }
        LoopFixture split = new LoopFixture(dir.resolve("split")).set("log_interval", 4);
        split.stopAtStep = 10;
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.3)) {
            assertTrue(split.run(task).interrupted());
        }
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.3)) {
            split.run(task, new Resume.Latest());
        }
        List<JsonNode> a = rows(whole.outputDir), b = rows(split.outputDir);
        assertEquals(List.of(4L, 8L, 12L, 16L, 20L), b.stream().map(r -> intOf(r, "step")).toList());
        double[] l = split.losses();
        assertEquals((l[8] + l[9] + l[10] + l[11]) / 4, loss(b.get(2)), 1e-12, "steps 9-12, across the stop");
        for (int i = 0; i < a.size(); i++) {
            assertEquals(loss(a.get(i)), loss(b.get(i)), 1e-6, "row " + i);
            assertNull(b.get(i).get("partial"));
        }
    }

    @Test void aCheckpointWithoutTheWindowMarksTheFirstRowPartial() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("log_interval", 4);
        f.stopAtStep = 10;
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.3)) {
            f.run(task);
        }
        Path state = f.outputDir.resolve("checkpoints/step-10/trainer_state.json");
        String json = Files.readString(state);
        assertTrue(json.contains("\"log_window_steps\": 2"), json);
        Files.writeString(state, json.replaceAll("(?m)^\\s*\"log_window_[a-z_]+\": [^\\n]*\\n", ""));  // as older versions wrote it
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.3)) {
            f.run(task, new Resume.Latest());
        }
        JsonNode row12 = rows(f.outputDir).get(2);
        assertEquals(12L, intOf(row12, "step"));
        assertEquals(Json.node(true), row12.get("partial"));
        assertEquals(2L, intOf(row12, "train/loss_steps"));
        double[] l = f.losses();
        assertEquals((l[10] + l[11]) / 2, loss(row12), 1e-12, "the steps it has: 11 and 12");
    }

    @Test void aShortLastWindowAndAnEarlyStopAreMarkedPartial() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2).set("log_interval", 4);
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.0)) {
            f.run(task);
        }
        List<JsonNode> rows = rows(f.outputDir);
        assertEquals(List.of(4L, 8L, 10L), rows.stream().map(r -> intOf(r, "step")).toList());
        assertNull(rows.get(1).get("partial"));
        assertNull(rows.get(1).get("train/loss_steps"));
        assertEquals(Json.node(true), rows.get(2).get("partial"));
        assertEquals(2L, intOf(rows.get(2), "train/loss_steps"));

        LoopFixture e = new LoopFixture(dir.resolve("early")).set("epochs", 10).set("eval_steps", 2)
                .set("early_stopping_patience", 3).set("log_interval", 5);
        try (ToyLoraTask task = LoopFixture.task(10, 4, 0.0)) {
            task.scriptedVal = new double[] {1.0, 0.6, 0.4, 0.41, 0.5, 0.45, 0.3};  // stops at step 12
            assertEquals(12, e.run(task).steps());
        }
        List<JsonNode> early = rows(e.outputDir).stream().filter(r -> r.get("train/loss") != null).toList();
        assertEquals(List.of(5L, 10L, 12L), early.stream().map(r -> intOf(r, "step")).toList(), "steps 11-12 are logged too");
        assertEquals(Json.node(true), early.get(2).get("partial"));
        double[] l = e.losses();
        assertEquals((l[10] + l[11]) / 2, loss(early.get(2)), 1e-12);
    }

    @Test void theSummarySaysWhatTheFinalLossAndTheLastLoggedLossAre() throws Exception {
        LoopFixture f = new LoopFixture(dir.resolve("out")).set("epochs", 2).set("log_interval", 4);
        TrainingResult r;
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.2)) {
            r = f.run(task);
        }
        double[] l = f.losses();
        assertEquals(l[9], r.lastLoss());
        assertEquals(new TrainingResult.LoggedLoss((l[8] + l[9]) / 2, 9, 10), r.lastLogged());
        String expected = "final loss " + TrainingResult.fmt(l[9]) + " (step 10 alone); last logged train/loss "
                + TrainingResult.fmt((l[8] + l[9]) / 2) + " (mean of steps 9-10)";
        assertEquals(expected, r.lossSummary());
        assertTrue(f.console().contains("\n" + expected + "\n"), f.console());
        assertEquals(loss(rows(f.outputDir).getLast()), r.lastLogged().mean(), 1e-12, "the number metrics.jsonl holds");

        LoopFixture one = new LoopFixture(dir.resolve("one")).set("epochs", 1);  // log_interval 1: one number
        try (ToyLoraTask task = LoopFixture.task(10, 0, 0.2)) {
            r = one.run(task);
        }
        assertEquals("final loss " + TrainingResult.fmt(r.lastLoss()) + " (step 5, as last logged)", r.lossSummary());
    }

    // --- reading the logs back ---

    static List<JsonNode> rows(Path outputDir) throws Exception {
        List<JsonNode> rows = new ArrayList<>();
        for (String line : Files.readAllLines(outputDir.resolve("logs/metrics.jsonl"))) rows.add(Json.parse(line));
        return rows;
    }

    /** Whole numbers must be written as integers (8, not 8.0) and losses as doubles: the types are part of the format. */
    private static long intOf(JsonNode row, String key) {
        assertTrue(row.get(key).isIntegralNumber(), key + " in " + row);
        return row.get(key).longValue();
    }

    private static double loss(JsonNode row) {
        assertTrue(row.get("train/loss").isDouble(), "train/loss in " + row);
        return row.get("train/loss").doubleValue();
    }

    /** Event files in the order TensorBoard reads them: by name. */
    static List<Path> eventFiles(Path outputDir) throws Exception {
        try (Stream<Path> s = Files.list(outputDir.resolve("logs"))) {
            return s.filter(p -> p.getFileName().toString().contains("tfevents")).sorted().toList();
        }
    }

    private static List<Long> startSteps(Path eventFile) throws Exception {
        List<Long> steps = new ArrayList<>();
        for (byte[] rec : TfRecordReader.read(eventFile).records()) {
            Map<Integer, List<Object>> e = fields(rec);
            if (e.containsKey(7) && fields((byte[]) e.get(7).getFirst()).get(1).equals(List.of(1L))) steps.add(step(e));
        }
        return steps;
    }

    /**
     * The steps of each tag that TensorBoard's event accumulator keeps: files in name order; a START
     * after the run's first one drops the events already read at its step or later.
     */
    static Map<String, List<Long>> tensorBoardView(Path outputDir) throws Exception {
        Map<String, List<Long>> view = new TreeMap<>();
        boolean seenStart = false;
        for (Path file : eventFiles(outputDir)) {
            for (byte[] rec : TfRecordReader.read(file).records()) {
                Map<Integer, List<Object>> e = fields(rec);
                long step = step(e);
                if (e.containsKey(7)) {
                    if (seenStart) view.values().forEach(steps -> steps.removeIf(s -> s >= step));
                    seenStart = true;
                }
                for (String tag : TrainingLoopTest.summaryTags(rec)) view.computeIfAbsent(tag, t -> new ArrayList<>()).add(step);
            }
        }
        return view;
    }

    private static long step(Map<Integer, List<Object>> event) {
        return event.containsKey(2) ? (Long) event.get(2).getFirst() : 0;
    }

    /** Top-level protobuf fields: varints and fixed64 as Long, fixed32 as Integer, length-delimited as byte[]. */
    static Map<Integer, List<Object>> fields(byte[] msg) {
        Map<Integer, List<Object>> m = new TreeMap<>();
        ByteBuffer b = ByteBuffer.wrap(msg).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            long key = varint(b);
            Object v = switch ((int) (key & 7)) {
                case 0 -> varint(b);
                case 1 -> b.getLong();
                case 2 -> {
                    byte[] bytes = new byte[(int) varint(b)];
                    b.get(bytes);
                    yield bytes;
                }
                case 5 -> b.getInt();
                default -> throw new IllegalArgumentException("wire type " + (key & 7));
            };
            m.computeIfAbsent((int) (key >>> 3), k -> new ArrayList<>()).add(v);
        }
        return m;
    }

    private static long varint(ByteBuffer b) {
        long r = 0;
        for (int shift = 0; ; shift += 7) {
            byte x = b.get();
            r |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) return r;
        }
    }
}
