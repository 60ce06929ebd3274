package org.lorascripts.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.io.Json;

/**
 * Makes a results file ({@code bench/results/DATE-MACHINE.jsonl}, the rows {@link BenchTable} reads) from the raw lines
 * of one device call of {@code bench/device-bench.sh}: each of our configurations next to the reference's line of the
 * same configuration, graphed steps first (the trainer's default), then the plain steps with both peaks.
 *
 * <p>Raw lines: ours from {@code SdTrainBenchmark} and {@code LlmTrainBenchmark} ({@code "impl": "java"}: a plain step's
 * line, then the CUDA-graph line of the same configuration), the reference's from {@code bench_sd_peft.py},
 * {@code bench_llm_peft.py} and {@code tools/bench_llm_extra.py} (no {@code impl}). A configuration is the model, the
 * dtype (SD), checkpointing, the batch and the targets (LLM); our {@code recompute_attention} steps stand against the
 * reference's step without recomputation (it has no such setting). QLoRA lines ({@code quant}, the 70B extrapolation,
 * a skipped reference) pass through unchanged, for {@link BenchTable}'s second table. Non-JSON lines are ignored.
 *
 * <p>Usage: {@code BenchCollect OUT.jsonl RAW...}, each RAW a file or a folder (its {@code sd-java.jsonl},
 * {@code sd-torch.jsonl}, {@code llm-java.jsonl}, {@code llm-torch.jsonl}, {@code qlora-java.jsonl} and
 * {@code qlora-torch.jsonl}, those present, in that order); prints the table of OUT.
 */
public final class BenchCollect {
    private BenchCollect() {}

    /** The raw files a folder of one call holds, in the order they are read. */
    static final List<String> RAW_FILES = List.of("sd-java.jsonl", "sd-torch.jsonl", "llm-java.jsonl", "llm-torch.jsonl",
            "qlora-java.jsonl", "qlora-torch.jsonl");

    /** One of our configurations: its plain step's line and, when captured, its CUDA-graph line. */
    private record Ours(JsonNode plain, JsonNode graphed) {}

    /** The results rows of {@code raw} (each a file or a folder, read in order). */
    public static List<ObjectNode> rows(List<Path> raw) throws IOException {
        List<Ours> ours = new ArrayList<>();
        Map<String, JsonNode> refs = new LinkedHashMap<>();
        List<ObjectNode> passThrough = new ArrayList<>();
        for (Path p : files(raw)) {
            List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (!line.startsWith("{")) continue;
                JsonNode o;
                try {
                    o = Json.parse(line);
                } catch (Json.Malformed e) {
                    throw new IOException(p + ":" + (i + 1) + ": not a JSON line: " + e.getMessage());
                }
                if (o.has("quant") || o.has("extrapolated_peak_gib_80") || o.has("skipped")) passThrough.add((ObjectNode) o);
                else if (o.has("cuda_graph")) {
                    if (!o.path("cuda_graph").asBoolean(false)) continue;   // a failed capture: the plain row stands alone
                    if (ours.isEmpty() || ours.getLast().graphed() != null) {
                        throw new IOException(p + ":" + (i + 1) + ": a CUDA-graph line without the plain step's line before it");
                    }
                    ours.set(ours.size() - 1, new Ours(ours.getLast().plain(), o));
                } else if (o.path("impl").asText("").equals("java")) ours.add(new Ours(o, null));
                else if (o.has("model")) refs.putIfAbsent(key(o, false), o);
            }
        }
        List<ObjectNode> graphedRows = new ArrayList<>(), plainRows = new ArrayList<>();
        for (Ours c : ours) {
            JsonNode ref = refs.get(key(c.plain(), true));
            if (ref == null) {
                System.err.println("no reference line for " + label(c.plain()) + ": left out");
                continue;
            }
            String unit = c.plain().has("tok_s") ? "tok_s" : "it_s";
            if (c.graphed() != null) graphedRows.add(row(label(c.plain()), unit, c.graphed(), ref, true));
            plainRows.add(row(label(c.plain()) + ", cuda_graphs: false", unit, c.plain(), ref, false));
        }
        List<ObjectNode> all = new ArrayList<>(graphedRows);
        all.addAll(plainRows);
        all.addAll(passThrough);
        return all;
    }

    private static List<Path> files(List<Path> raw) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path p : raw) {
            if (Files.isDirectory(p)) {
                for (String name : RAW_FILES) if (Files.isRegularFile(p.resolve(name))) out.add(p.resolve(name));
            } else if (Files.isRegularFile(p)) out.add(p);
            else throw new IOException(p + ": no such file or folder of raw benchmark lines");
        }
        return out;
    }

    /** What pairs our line with the reference's: {@code ours} drops our recomputation setting (the reference has none). */
    private static String key(JsonNode o, boolean ours) {
        String k = o.path("model").asText() + "|" + o.path("dtype").asText("") + "|" + o.path("grad_ckpt").asBoolean()
                + "|" + o.path("batch").asText("1") + "|" + o.path("targets").asText("") + "|" + o.path("seq").asText("");
        return ours || !o.has("recompute") ? k : k + "|" + o.get("recompute").asText();
    }

    private static ObjectNode row(String config, String unit, JsonNode ours, JsonNode ref, boolean graphed) {
        ObjectNode r = Json.MAPPER.createObjectNode();
        r.put("config", config);
        r.put("unit", unit.equals("tok_s") ? "tok/s" : "it/s");
        double v = ours.path(unit).asDouble();
        if (unit.equals("tok_s")) r.put("ours", Math.round(v));
        else r.put("ours", Math.round(v * 1000) / 1000.0);
        r.set("reference", ref.get(unit));
        if (!graphed) {
            r.set("mem_ours_gib", ours.get("peak_gib"));
            r.set("mem_reference_gib", ref.get("peak_gib"));
        }
        r.put("cuda_graphs", graphed);
        return r;
    }

    /** "Llama-3-8B shape, seq 2048, r16 q/k/v/o, bf16, gradient checkpointing"; "SD1.5 UNet LoRA r8, 512², bs 4, fp16". */
    static String label(JsonNode o) {
        String model = o.path("model").asText();
        StringBuilder sb = new StringBuilder(model.equals("sd15-unet") ? "SD1.5 UNet LoRA r8, 512²" : BenchTable.modelLabel(model));
        if (o.has("seq")) sb.append(", seq ").append(o.get("seq").asText());
        if (o.has("targets")) {
            int t = o.get("targets").asInt();
            sb.append(", r16 ").append(t == 4 ? "q/k/v/o" : t == 7 ? "all linear layers" : t + " targets").append(", bf16");
        }
        if (o.has("dtype")) {
            sb.append(", bs ").append(o.path("batch").asText("1")).append(", ")
                    .append(o.get("dtype").asText().equals("bfloat16") ? "bf16" : o.get("dtype").asText().equals("float16") ? "fp16" : o.get("dtype").asText());
        }
        if (o.path("grad_ckpt").asBoolean()) sb.append(", gradient checkpointing");
        if (o.has("recompute")) sb.append(String.format(Locale.ROOT, ", recompute_%s (reference: none)", o.get("recompute").asText()));
        return sb.toString();
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: BenchCollect OUT.jsonl RAW... (raw benchmark lines: files, or folders of one device call)");
            System.exit(2);
        }
        List<Path> raw = new ArrayList<>();
        for (int i = 1; i < args.length; i++) raw.add(Path.of(args[i]));
        StringBuilder sb = new StringBuilder();
        for (ObjectNode r : rows(raw)) sb.append(Json.write(r)).append('\n');
        Path out = Path.of(args[0]);
        AtomicFileWriter.write(out, sb.toString().getBytes(StandardCharsets.UTF_8));
        var o = new java.io.PrintStream(System.out, true, StandardCharsets.UTF_8);
        o.print(BenchTable.markdown(out));
    }
}
