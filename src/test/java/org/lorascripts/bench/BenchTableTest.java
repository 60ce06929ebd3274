package org.lorascripts.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchTableTest {
    @TempDir Path dir;

    @Test void readmeCarriesTheTableOfTheNewestResults() throws Exception {
        Path newest = BenchTable.newest(Path.of("bench/results"));
        String readme = Files.readString(Path.of("README.md"));
        String start = "<!-- bench:start -->\n", end = "<!-- bench:end -->";
        int a = readme.indexOf(start), b = readme.indexOf(end);
        assertTrue(a >= 0 && b > a, "README.md lacks the bench markers");
        String body = readme.substring(a + start.length(), b);
        assertTrue(body.contains("bench/results/" + newest.getFileName()), "README names the results file it shows");
        assertTrue(body.contains(BenchTable.markdown(newest)),
                "README's speed table is stale: paste the output of org.lorascripts.bench.BenchTable between the markers");
    }

    @Test void readmeCarriesTheSdxlTableOfTheNewestSdxlResults() throws Exception {
        Path newest = BenchTable.newest(Path.of("bench/results/sdxl"));
        String readme = Files.readString(Path.of("README.md"));
        String start = "<!-- bench-sdxl:start -->\n", end = "<!-- bench-sdxl:end -->";
        int a = readme.indexOf(start), b = readme.indexOf(end);
        assertTrue(a >= 0 && b > a, "README.md lacks the SDXL bench markers");
        assertTrue(readme.substring(0, a).contains("bench/results/sdxl/" + newest.getFileName()), "README names the SDXL results file it shows");
        assertTrue(readme.substring(a + start.length(), b).contains(BenchTable.markdown(newest)),
                "README's SDXL table is stale: paste the output of org.lorascripts.bench.BenchTable bench/results/sdxl between the markers");
    }

    @Test void rowsComputeRatiosAndFormatUnits() throws Exception {
        Files.writeString(dir.resolve("2026-01-01-x.jsonl"), "{\"config\": \"a\", \"unit\": \"tok/s\", \"ours\": 12170, \"reference\": 8000,"
                + " \"mem_ours_gib\": 1.5, \"mem_reference_gib\": 2}\n{\"config\": \"b\", \"unit\": \"it/s\", \"ratio\": 1.5}\n");
        Files.writeString(dir.resolve("2025-12-31-x.jsonl"), "");
        Path p = BenchTable.newest(dir);
        assertEquals("2026-01-01-x.jsonl", p.getFileName().toString());
        assertEquals("""
                | configuration | lora-scripts | PyTorch reference | ratio | peak memory (ours / reference) |
                |---|---|---|---|---|
                | a | 12.17k tok/s | 8k tok/s | 1.52x | 1.50 / 2.00 GiB |
                | b | – | – | 1.50x | – |
                """, BenchTable.markdown(p));
    }
}
