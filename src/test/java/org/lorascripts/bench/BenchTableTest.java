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
    /** Raw QLoRA lines (ours, the reference, the 70B extrapolation) in a results file make a second table after the first. */
    @Test void qloraLinesMakeTheirOwnTable() throws Exception {
        Files.writeString(dir.resolve("2026-02-01-x.jsonl"), String.join("\n",
                "{\"config\": \"a\", \"unit\": \"tok/s\", \"ours\": 100, \"reference\": 50}",
                "{\"impl\": \"java\", \"model\": \"llama3-8b\", \"quant\": \"nf4\", \"grad_ckpt\": false, \"cuda_graph\": false, \"seq\": 2048, \"batch\": 1,"
                        + " \"targets\": 4, \"tok_s\": 6000, \"step_s\": 0.341, \"peak_gib\": 14.5, \"weights_gib\": 5.61, \"loss\": 11.9}",
                "{\"impl\": \"java\", \"model\": \"llama3-8b\", \"quant\": \"nf4\", \"grad_ckpt\": false, \"cuda_graph\": true, \"seq\": 2048,"
                        + " \"tok_s\": 7500, \"peak_gib\": 14.25, \"weights_gib\": 5.61, \"speedup_vs_plain\": 1.25}",
                "{\"impl\": \"java\", \"model\": \"llama3-8b\", \"quant\": \"nf4\", \"grad_ckpt\": true, \"cuda_graph\": false, \"seq\": 2048,"
                        + " \"tok_s\": 4000, \"peak_gib\": 7.1, \"weights_gib\": 5.61}",
                "{\"impl\": \"java\", \"model\": \"llama3-8b\", \"quant\": \"bf16\", \"grad_ckpt\": true, \"cuda_graph\": false, \"seq\": 2048,"
                        + " \"tok_s\": 9000, \"peak_gib\": 17, \"weights_gib\": 15.01}",
                "{\"impl\": \"torch\", \"model\": \"llama3-8b\", \"quant\": \"nf4\", \"grad_ckpt\": false, \"seq\": 2048, \"tok_s\": 5000, \"peak_gib\": 16, \"weights_gib\": 5.8}",
                "{\"impl\": \"torch\", \"model\": \"llama3-8b\", \"quant\": \"nf4\", \"grad_ckpt\": true, \"seq\": 2048, \"tok_s\": 3200, \"peak_gib\": 8.9, \"weights_gib\": 5.8}",
                "{\"impl\": \"torch\", \"model\": \"llama3-8b\", \"quant\": \"bf16\", \"grad_ckpt\": false, \"seq\": 2048, \"tok_s\": 12000, \"peak_gib\": 29.1, \"weights_gib\": 15.2}",
                "{\"impl\": \"java\", \"model\": \"llama3-70b\", \"quant\": \"nf4\", \"grad_ckpt\": true, \"seq\": 2048, \"extrapolated_from_layers\": [2, 4],"
                        + " \"per_layer_weights_gib\": 0.4112, \"per_layer_peak_gib\": 0.45, \"fixed_weights_gib\": 3.91, \"fixed_gib\": 5.2,"
                        + " \"extrapolated_weights_gib_80\": 36.81, \"extrapolated_peak_gib_80\": 41.2, \"budget_gib\": 24, \"layers_within_budget\": 41}",
                ""));
        assertEquals("""
                | configuration | lora-scripts | PyTorch reference | ratio | peak memory (ours / reference) |
                |---|---|---|---|---|
                | a | 100.00 tok/s | 50.00 tok/s | 2.00x | – |

                | configuration | base weights | lora-scripts | PyTorch reference | ratio | weights (ours / reference) | peak memory (ours / reference) |
                |---|---|---|---|---|---|---|
                | Llama-3-8B shape, seq 2048 | NF4 | 6k tok/s | 5k tok/s | 1.20x | 5.61 / 5.80 GiB | 14.50 / 16.00 GiB |
                | Llama-3-8B shape, seq 2048, CUDA graph | NF4 | 7.5k tok/s | 5k tok/s | 1.50x | 5.61 / 5.80 GiB | 14.25 / 16.00 GiB |
                | Llama-3-8B shape, seq 2048, gradient checkpointing | NF4 | 4k tok/s | 3.2k tok/s | 1.25x | 5.61 / 5.80 GiB | 7.10 / 8.90 GiB |
                | Llama-3-8B shape, seq 2048, gradient checkpointing | bf16 | 9k tok/s | – | – | 15.01 / – GiB | 17.00 / – GiB |
                | Llama-3-8B shape, seq 2048 | bf16 | – | 12k tok/s | – | – / 15.20 GiB | – / 29.10 GiB |

                Llama-3-70B shape in NF4 with gradient checkpointing, seq 2048, extrapolated linearly from 2 and 4 decoder layers to 80: \
                0.411 GiB of weights and 0.450 GiB of training peak per layer on top of 3.91 / 5.20 GiB, so 36.81 GiB of weights and \
                a 41.20 GiB peak for the whole model (within the 48 GB = 44.70 GiB target); 41 layers of this shape fit 24 GiB.
                """, BenchTable.markdown(dir.resolve("2026-02-01-x.jsonl")));
    }

    @Test void skippedReferenceAndAnOverTargetExtrapolationReadAsSentences() throws Exception {
        Files.writeString(dir.resolve("2026-02-02-x.jsonl"), String.join("\n",
                "{\"impl\": \"torch\", \"skipped\": \"bitsandbytes not installed\"}",
                "{\"impl\": \"java\", \"model\": \"llama3-8b\", \"quant\": \"bf16\", \"grad_ckpt\": false, \"error\": \"OutOfMemory: no\"}",
                "{\"impl\": \"java\", \"model\": \"llama3-70b\", \"quant\": \"nf4\", \"grad_ckpt\": true, \"extrapolated_from_layers\": [2, 4],"
                        + " \"per_layer_weights_gib\": 0.5, \"per_layer_peak_gib\": 0.55, \"fixed_weights_gib\": 3.9, \"fixed_gib\": 4,"
                        + " \"extrapolated_weights_gib_80\": 43.9, \"extrapolated_peak_gib_80\": 48, \"budget_gib\": 24, \"layers_within_budget\": 36}"));
        String md = BenchTable.markdown(dir.resolve("2026-02-02-x.jsonl"));
        assertTrue(md.contains("\nlora-scripts failed (Llama-3-8B shape, bf16, gradient checkpointing off): OutOfMemory: no.\n"), md);
        assertTrue(md.contains("\nPyTorch reference (torch): skipped, bitsandbytes not installed.\n"), md);
        assertTrue(md.contains("a 48.00 GiB peak for the whole model (over the 48 GB = 44.70 GiB target); 36 layers of this shape fit 24 GiB."), md);
        // no configuration rows: the QLoRA table is only its header
        assertTrue(md.contains("|---|---|---|---|---|---|---|\n\nPyTorch reference"), md);
    }
}
