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
        assertReadmeShowsNewest("bench/results", "bench");
    }

    @Test void readmeCarriesTheSdxlTableOfTheNewestSdxlResults() throws Exception {
        assertReadmeShowsNewest("bench/results/sdxl", "bench-sdxl");
    }

    /** README names the newest file of {@code dir} before its table and carries that table between {@code <!-- marker:start/end -->}. */
    private static void assertReadmeShowsNewest(String dir, String marker) throws Exception {
        Path newest = BenchTable.newest(Path.of(dir));
        String readme = Files.readString(Path.of("README.md"));
        String start = "<!-- " + marker + ":start -->\n", end = "<!-- " + marker + ":end -->";
        int a = readme.indexOf(start), b = readme.indexOf(end);
        assertTrue(a >= 0 && b > a, "README.md lacks the markers " + start.strip());
        String before = readme.substring(Math.max(0, a - 400), b);
        assertTrue(before.contains(dir + "/" + newest.getFileName()), "README names the results file it shows: " + dir + "/" + newest.getFileName());
        assertTrue(readme.substring(a + start.length(), b).contains(BenchTable.markdown(newest)),
                "README's table is stale: paste the output of org.lorascripts.bench.BenchTable " + dir + " between the markers");
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
