package org.lorascripts.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.Json;

class BenchCollectTest {
    @TempDir Path dir;

    /**
     * Our plain and graphed lines pair with the reference's line of the same configuration: graphed rows first, plain
     * rows with both peaks after; a failed capture leaves the plain row alone; a recomputing step stands against the
     * reference's plain one; QLoRA lines pass through; a configuration without a reference is left out.
     */
    @Test void pairsOursWithTheReferencesConfiguration() throws Exception {
        Path call = Files.createDirectories(dir.resolve("call"));
        Files.writeString(call.resolve("sd-java.jsonl"), String.join("\n",
                "lora: compiling the native shim",
                "{\"impl\": \"java\", \"model\": \"sd15-unet\", \"dtype\": \"float16\", \"grad_ckpt\": false, \"batch\": 4, \"it_s\": 7.2954, \"peak_gib\": 4.43}",
                "{\"impl\": \"java\", \"cuda_graph\": true, \"config\": \"sd15-unet fp16 ckpt=false bs=4\", \"it_s\": 19.672, \"peak_gib\": 4.5}",
                "{\"impl\": \"java\", \"model\": \"sd15-unet\", \"dtype\": \"bfloat16\", \"grad_ckpt\": true, \"batch\": 4, \"it_s\": 5.91, \"peak_gib\": 2.35}",
                "{\"cuda_graph\": \"failed\", \"error\": \"capture\"}", ""));
        Files.writeString(call.resolve("sd-torch.jsonl"), String.join("\n",
                "{\"model\": \"sd15-unet\", \"dtype\": \"bfloat16\", \"grad_ckpt\": true, \"batch\": 4, \"it_s\": 2.709, \"peak_gib\": 3.01}",
                "{\"model\": \"sd15-unet\", \"dtype\": \"float16\", \"grad_ckpt\": false, \"batch\": 4, \"it_s\": 5.689, \"peak_gib\": 6.78}", ""));
        Files.writeString(call.resolve("llm-java.jsonl"), String.join("\n",
                "{\"impl\": \"java\", \"model\": \"llama3-8b\", \"grad_ckpt\": false, \"seq\": 2048, \"batch\": 1, \"targets\": 4, \"tok_s\": 14335, \"peak_gib\": 21.26}",
                "{\"impl\": \"java\", \"cuda_graph\": true, \"config\": \"llama3-8b ckpt=false targets=4\", \"tok_s\": 16117.183, \"peak_gib\": 21.26}",
                "{\"impl\": \"java\", \"model\": \"llama3-8b\", \"grad_ckpt\": false, \"seq\": 2048, \"batch\": 1, \"targets\": 4, \"recompute\": \"attention\", \"tok_s\": 10605, \"peak_gib\": 19.95}",
                "{\"impl\": \"java\", \"cuda_graph\": true, \"config\": \"llama3-8b ckpt=false targets=4 recompute=attention\", \"tok_s\": 14699.6, \"peak_gib\": 19.95}",
                "{\"impl\": \"java\", \"model\": \"llama3-8b\", \"grad_ckpt\": false, \"seq\": 4096, \"batch\": 1, \"targets\": 4, \"tok_s\": 9000, \"peak_gib\": 30}", ""));
        Files.writeString(call.resolve("llm-torch.jsonl"), "{\"model\": \"llama3-8b\", \"grad_ckpt\": false, \"seq\": 2048, \"batch\": 1, \"targets\": 4, \"tok_s\": 9479, \"peak_gib\": 29.14}\n");
        Files.writeString(call.resolve("qlora-torch.jsonl"), "{\"impl\": \"torch\", \"skipped\": \"bitsandbytes not installed\"}\n");
        Files.writeString(call.resolve("curves.jsonl"), "{\"impl\": \"java\", \"model\": \"not read: not a benchmark file\"}\n");

        List<String> got = BenchCollect.rows(List.of(call)).stream().map(Json::write).toList();
        List<String> want = List.of(
                "{\"config\":\"SD1.5 UNet LoRA r8, 512², bs 4, fp16\",\"unit\":\"it/s\",\"ours\":19.672,\"reference\":5.689,\"cuda_graphs\":true}",
                "{\"config\":\"Llama-3-8B shape, seq 2048, r16 q/k/v/o, bf16\",\"unit\":\"tok/s\",\"ours\":16117,\"reference\":9479,\"cuda_graphs\":true}",
                "{\"config\":\"Llama-3-8B shape, seq 2048, r16 q/k/v/o, bf16, recompute_attention (reference: none)\",\"unit\":\"tok/s\",\"ours\":14700,"
                        + "\"reference\":9479,\"cuda_graphs\":true}",
                "{\"config\":\"SD1.5 UNet LoRA r8, 512², bs 4, fp16, cuda_graphs: false\",\"unit\":\"it/s\",\"ours\":7.295,\"reference\":5.689,"
                        + "\"mem_ours_gib\":4.43,\"mem_reference_gib\":6.78,\"cuda_graphs\":false}",
                "{\"config\":\"SD1.5 UNet LoRA r8, 512², bs 4, bf16, gradient checkpointing, cuda_graphs: false\",\"unit\":\"it/s\",\"ours\":5.91,"
                        + "\"reference\":2.709,\"mem_ours_gib\":2.35,\"mem_reference_gib\":3.01,\"cuda_graphs\":false}",
                "{\"config\":\"Llama-3-8B shape, seq 2048, r16 q/k/v/o, bf16, cuda_graphs: false\",\"unit\":\"tok/s\",\"ours\":14335,\"reference\":9479,"
                        + "\"mem_ours_gib\":21.26,\"mem_reference_gib\":29.14,\"cuda_graphs\":false}",
                "{\"config\":\"Llama-3-8B shape, seq 2048, r16 q/k/v/o, bf16, recompute_attention (reference: none), cuda_graphs: false\",\"unit\":\"tok/s\","
                        + "\"ours\":10605,\"reference\":9479,\"mem_ours_gib\":19.95,\"mem_reference_gib\":29.14,\"cuda_graphs\":false}",
                "{\"impl\":\"torch\",\"skipped\":\"bitsandbytes not installed\"}");
        assertEquals(want, got);
    }

    @Test void aGraphLineWithoutItsPlainLineIsAnError() throws Exception {
        Path f = Files.writeString(dir.resolve("llm-java.jsonl"), "{\"impl\": \"java\", \"cuda_graph\": true, \"config\": \"x\", \"tok_s\": 1}\n");
        var e = assertThrows(java.io.IOException.class, () -> BenchCollect.rows(List.of(f)));
        assertTrue(e.getMessage().startsWith(f + ":1: a CUDA-graph line without the plain step's line"), e.getMessage());
        var missing = assertThrows(java.io.IOException.class, () -> BenchCollect.rows(List.of(dir.resolve("nothing"))));
        assertTrue(missing.getMessage().contains("no such file or folder"), missing.getMessage());
    }

    /** The newest committed results file is what the tool makes of the raw lines committed beside it. */
    @Test void theCommittedResultsComeFromTheirRawLines() throws Exception {
        Path results = Path.of("bench/results");
        List<ObjectNode> rows = BenchCollect.rows(List.of(results.resolve("2026-12-05e/call4"), results.resolve("2026-12-05e"),
                results.resolve("2026-12-05d-h100.jsonl")));
        StringBuilder sb = new StringBuilder();
        for (ObjectNode r : rows) sb.append(Json.write(r)).append('\n');
        assertEquals(sb.toString(), Files.readString(results.resolve("2026-12-05e-h100.jsonl")),
                "regenerate it: BenchCollect bench/results/2026-12-05e-h100.jsonl bench/results/2026-12-05e/call4"
                        + " bench/results/2026-12-05e bench/results/2026-12-05d-h100.jsonl");
    }
}
