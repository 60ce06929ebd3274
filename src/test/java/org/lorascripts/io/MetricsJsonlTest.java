package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsJsonlTest {

    @Test
    void writesOneObjectPerLineWithNullForNonFinite(@TempDir Path dir) throws IOException {
        try (MetricsJsonl m = MetricsJsonl.open(dir)) {
            Map<String, Number> row = new LinkedHashMap<>();
            row.put("loss", 0.25);
            row.put("lr", 1e-4);
            row.put("images", 8);
            m.append(1, 1700000000.5, row);
            Map<String, Number> bad = new LinkedHashMap<>();
            bad.put("loss", Double.NaN);
            bad.put("grad_norm", Double.POSITIVE_INFINITY);
            bad.put("odd \"key\"", -0.5f);
            m.append(2, 1700000001.0, bad);
        }
        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(List.of(
                "{\"step\":1,\"wall_time\":1.7000000005E9,\"loss\":0.25,\"lr\":1.0E-4,\"images\":8}",
                "{\"step\":2,\"wall_time\":1.700000001E9,\"loss\":null,\"grad_norm\":null,\"odd \\\"key\\\"\":-0.5}"),
                lines);
    }

    @Test
    void appendsAcrossRunsAndRepairsATornLastLine(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("metrics.jsonl"), "{\"step\":1,\"wall_time\":1.0}\n{\"step\":2,\"wa");
        try (MetricsJsonl m = MetricsJsonl.open(dir)) {
            m.append(3, 2.0, Map.of("loss", 1));
        }
        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertEquals(3, lines.size());
        assertEquals("{\"step\":3,\"wall_time\":2.0,\"loss\":1}", lines.get(2));
    }

    /** A run continuing after step 3: rows 4-5 of the run it replaces, and torn lines, are gone. */
    @Test
    void openAfterKeepsWholeRowsUpToTheStepAndRewritesAtomically(@TempDir Path dir) throws IOException {
        String kept = "{\"step\":1,\"wall_time\":1.0}\n{\"step\":2,\"wall_time\":2.0,\"loss\":0.5}\n";
        Files.writeString(dir.resolve("metrics.jsonl"), kept
                + "{\"step\":3,\"wa\n"                       // torn by a kill, terminated by the next run
                + "{\"step\":3,\"wall_time\":3.0}\n{\"step\":4,\"wall_time\":4.0}\n{\"step\":5,\"wall_time\":5.0}\n"
                + "{\"step\":6,\"wall_t");                     // torn by the last kill
        Files.writeString(dir.resolve(".metrics.jsonl.123.tmp"), "{\"step\":1");  // a rewrite killed before its rename
        try (MetricsJsonl m = MetricsJsonl.openAfter(dir, 3)) {
            m.append(4, 10.0, Map.of("partial", true));
        }
        assertEquals(kept + "{\"step\":3,\"wall_time\":3.0}\n{\"step\":4,\"wall_time\":10.0,\"partial\":true}\n",
                Files.readString(dir.resolve("metrics.jsonl")));
        try (var files = Files.list(dir)) {
            assertEquals(List.of("metrics.jsonl"), files.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void openAfterLeavesAFileWithNothingToDropInPlace(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("metrics.jsonl");
        Files.writeString(file, "{\"step\":1,\"wall_time\":1.0}\n");
        Object before = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        MetricsJsonl.openAfter(dir, 1).close();
        assertEquals(before, Files.readAttributes(file, BasicFileAttributes.class).fileKey(), "not rewritten");
        MetricsJsonl.openAfter(dir.resolve("fresh"), 0).close();
        assertEquals("", Files.readString(dir.resolve("fresh/metrics.jsonl")));
    }

    @Test
    void reservedNamesAreRejected(@TempDir Path dir) throws IOException {
        try (MetricsJsonl m = MetricsJsonl.open(dir)) {
            assertThrows(IllegalArgumentException.class, () -> m.append(1, 1.0, Map.of("step", 2)));
        }
    }

    @Test
    void jsonStringEscapes() {
        assertEquals("\"a\\\\b\\n\\u0001é\"", JsonLiterals.string("a\\b\n\u0001é"));
    }
}
