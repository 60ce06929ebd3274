package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
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

    /**
     * The bytes of a row, pinned to what the writer before Jackson wrote: Java's shortest doubles
     * (1.0E-4, 1.0E21), a Float as its exact double value, whole-number types as integers, other
     * Numbers as doubles, null for NaN and infinities, keys with only quote, backslash and control
     * characters escaped (lower-case hex), everything else raw UTF-8.
     */
    @Test
    void pinsTheBytesOfARow() {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("train/loss", 0.1f);
        row.put("lr", 1e-4);
        row.put("big", 1e21);
        row.put("tiny", 4.9e-324);
        row.put("neg0", -0.0);
        row.put("third", 1.0 / 3);
        row.put("int", Integer.MIN_VALUE);
        row.put("long", Long.MAX_VALUE);
        row.put("short", (short) 7);
        row.put("bigint", new BigInteger("123456789012345678901234567890"));
        row.put("bigdec", new BigDecimal("0.1"));
        row.put("nan", Float.NaN);
        row.put("inf", Double.NEGATIVE_INFINITY);
        row.put("partial", true);
        row.put("none", null);
        row.put("é \"q\" \\ \n\t\r\u0001\u001f\u007f \u2028 😀", 1);
        assertEquals("{\"step\":9223372036854775807,\"wall_time\":1.700000000125E9,\"train/loss\":0.10000000149011612,"
                        + "\"lr\":1.0E-4,\"big\":1.0E21,\"tiny\":4.9E-324,\"neg0\":-0.0,\"third\":0.3333333333333333,"
                        + "\"int\":-2147483648,\"long\":9223372036854775807,\"short\":7,\"bigint\":1.2345678901234568E29,"
                        + "\"bigdec\":0.1,\"nan\":null,\"inf\":null,\"partial\":true,\"none\":null,"
                        + "\"é \\\"q\\\" \\\\ \\n\\t\\r\\u0001\\u001f\u007f \u2028 😀\":1}\n",
                new String(MetricsJsonl.line(Long.MAX_VALUE, 1.7e9 + 0.125, row), StandardCharsets.UTF_8));
        assertEquals("{\"step\":0,\"wall_time\":null}\n", new String(MetricsJsonl.line(0, Double.NaN, Map.of()), StandardCharsets.UTF_8));
        // The one difference: backspace and form feed take their short escapes, as in Python's json and
        // serde_json; the writer before spelled them as u0008 and u000c escapes. No metric name holds either.
        assertEquals("{\"step\":1,\"wall_time\":2.0,\"\\b\\f\":1}\n",
                new String(MetricsJsonl.line(1, 2.0, Map.of("\b\f", 1)), StandardCharsets.UTF_8));
    }
}
