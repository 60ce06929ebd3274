package org.lorascripts.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.lorascripts.io.Json;

/**
 * README's speed and memory table, generated from the newest committed benchmark results
 * ({@code bench/results/DATE-MACHINE.jsonl}: one object per configuration with {@code config},
 * {@code unit}, {@code ours}, {@code reference}, peak memories in GiB, or only a {@code ratio}).
 * {@code java -cp ... org.lorascripts.bench.BenchTable bench/results} prints it.
 * Lines of {@code LlmQloraBenchmark} and {@code tools/bench_llm_qlora.py} (those with {@code quant}, the
 * reference's {@code skipped} line) copied into the same file make a second table, QLoRA: ours and the
 * reference per base precision and configuration, with weights and peak memory, and a sentence for the 70B
 * extrapolation line ({@link #qloraMarkdown}).
 */
public final class BenchTable {
    private BenchTable() {}

    /** The newest results file of {@code dir} (names start with the date, so the last in order). */
    public static Path newest(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".jsonl")).sorted().reduce((a, b) -> b)
                    .orElseThrow(() -> new IOException(dir + " holds no .jsonl benchmark results"));
        }
    }

    public static String markdown(Path results) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("| configuration | lora-scripts | PyTorch reference | ratio | peak memory (ours / reference) |\n");
        sb.append("|---|---|---|---|---|\n");
        List<String> lines = Files.readAllLines(results);
        List<JsonNode> qlora = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            JsonNode o = Json.parse(lines.get(i));
            String where = results.getFileName() + ":" + (i + 1);
            if (o.has("quant") || (o.has("impl") && o.has("skipped"))) {
                qlora.add(o);
                continue;
            }
            String unit = str(o, "unit", where);
            Double ours = num(o, "ours"), ref = num(o, "reference"), ratio = num(o, "ratio");
            if (ratio == null) {
                if (ours == null || ref == null) throw new IOException(where + ": needs ours and reference, or a ratio");
                ratio = ours / ref;
            }
            Double mo = num(o, "mem_ours_gib"), mr = num(o, "mem_reference_gib");
            sb.append("| ").append(str(o, "config", where))
                    .append(" | ").append(ours == null ? "–" : speed(ours, unit))
                    .append(" | ").append(ref == null ? "–" : speed(ref, unit))
                    .append(" | ").append(String.format(Locale.ROOT, "%.2fx", ratio))
                    .append(" | ").append(mo == null || mr == null ? "–" : String.format(Locale.ROOT, "%.2f / %.2f GiB", mo, mr))
                    .append(" |\n");
        }
        if (!qlora.isEmpty()) sb.append('\n').append(qloraMarkdown(qlora));
        return sb.toString();
    }

    /**
     * The QLoRA table from raw benchmark lines: each of our configurations (model, base precision,
     * checkpointing, CUDA graph) next to the reference's of the same model, precision, checkpointing and
     * sequence length (a reference line without ours gets a row of its own), then the 70B extrapolation
     * and a skipped reference as sentences.
     */
    static String qloraMarkdown(List<JsonNode> rows) {
        StringBuilder sb = new StringBuilder();
        sb.append("| configuration | base weights | lora-scripts | PyTorch reference | ratio | weights (ours / reference) | peak memory (ours / reference) |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        Map<String, JsonNode> refs = new LinkedHashMap<>();
        List<JsonNode> ours = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (JsonNode o : rows) {
            if (o.has("extrapolated_peak_gib_80")) notes.add(extrapolation(o));
            else if (o.has("error")) notes.add(String.format(Locale.ROOT, "%s failed (%s, %s, gradient checkpointing %s): %s.",
                    o.path("impl").asText().equals("java") ? "lora-scripts" : "PyTorch reference", modelLabel(o.path("model").asText()),
                    o.path("quant").asText(), o.path("grad_ckpt").asBoolean() ? "on" : "off", o.get("error").asText()));
            else if (o.has("skipped")) notes.add("PyTorch reference (" + o.path("impl").asText("?") + "): skipped, " + o.get("skipped").asText() + ".");
            else if (o.path("impl").asText().equals("java")) ours.add(o);
            else refs.putIfAbsent(qloraKey(o), o);
        }
        List<String> used = new ArrayList<>();
        for (JsonNode o : ours) {
            JsonNode r = refs.get(qloraKey(o));
            if (r != null) used.add(qloraKey(o));
            qloraRow(sb, o, r);
        }
        for (Map.Entry<String, JsonNode> e : refs.entrySet()) if (!used.contains(e.getKey())) qloraRow(sb, null, e.getValue());
        for (String n : notes) sb.append('\n').append(n).append('\n');
        return sb.toString();
    }

    private static String qloraKey(JsonNode o) {
        return o.path("model").asText() + "|" + o.path("quant").asText() + "|" + o.path("grad_ckpt").asBoolean() + "|" + o.path("seq").asText();
    }

    private static void qloraRow(StringBuilder sb, JsonNode ours, JsonNode ref) {
        JsonNode any = ours != null ? ours : ref;
        boolean graphed = ours != null && ours.path("cuda_graph").asBoolean(false);
        String config = modelLabel(any.path("model").asText()) + (any.has("seq") ? ", seq " + any.get("seq").asText() : "")
                + (any.path("grad_ckpt").asBoolean() ? ", gradient checkpointing" : "") + (graphed ? ", CUDA graph" : "");
        String quant = any.path("quant").asText();
        Double to = ours == null ? null : num(ours, "tok_s"), tr = ref == null ? null : num(ref, "tok_s");
        sb.append("| ").append(config)
                .append(" | ").append(quant.equals("nf4") ? "NF4" : quant)
                .append(" | ").append(to == null ? "–" : speed(to, "tok/s"))
                .append(" | ").append(tr == null ? "–" : speed(tr, "tok/s"))
                .append(" | ").append(to == null || tr == null ? "–" : String.format(Locale.ROOT, "%.2fx", to / tr))
                .append(" | ").append(pair(ours, ref, "weights_gib"))
                .append(" | ").append(pair(ours, ref, "peak_gib"))
                .append(" |\n");
    }

    /** "5.61 / 5.80 GiB", with – for a side that has no figure; – alone when neither has. */
    private static String pair(JsonNode ours, JsonNode ref, String key) {
        Double a = ours == null ? null : num(ours, key), b = ref == null ? null : num(ref, key);
        if (a == null && b == null) return "–";
        return gibOrDash(a) + " / " + gibOrDash(b) + " GiB";
    }

    private static String gibOrDash(Double v) { return v == null ? "–" : String.format(Locale.ROOT, "%.2f", v); }

    /** The display name of a benchmark's model ("Llama-3-8B shape"), the name itself when unknown. */
    static String modelLabel(String model) {
        return switch (model) {
            case "llama3-8b" -> "Llama-3-8B shape";
            case "llama3-70b" -> "Llama-3-70B shape";
            case "llama3.2-1b" -> "Llama-3.2-1B shape";
            default -> model;
        };
    }

    /** The 70B line of LlmQloraBenchmark as a sentence. */
    private static String extrapolation(JsonNode o) {
        JsonNode from = o.path("extrapolated_from_layers");
        Double peak = num(o, "extrapolated_peak_gib_80");
        String target = (peak == null ? "no figure for" : peak * (1L << 30) <= 48e9 ? "within" : "over") + " the 48 GB = 44.70 GiB target";
        int fits = o.path("layers_within_budget").asInt(-1);
        return String.format(Locale.ROOT, "%s in NF4 with gradient checkpointing%s, extrapolated linearly from %s and %s decoder layers to 80: "
                        + "%s GiB of weights and %s GiB of training peak per layer on top of %s / %s GiB, so %s GiB of weights and "
                        + "a %s GiB peak for the whole model (%s); %s layers of this shape fit %s GiB.",
                modelLabel(o.path("model").asText()), o.has("seq") ? ", seq " + o.get("seq").asText() : "",
                from.path(0).asText("?"), from.path(1).asText("?"),
                fmt(num(o, "per_layer_weights_gib"), "%.3f"), fmt(num(o, "per_layer_peak_gib"), "%.3f"),
                fmt(num(o, "fixed_weights_gib"), "%.2f"), fmt(num(o, "fixed_gib"), "%.2f"),
                fmt(num(o, "extrapolated_weights_gib_80"), "%.2f"), fmt(peak, "%.2f"), target,
                fits < 0 ? "an unknown number of" : String.valueOf(fits), fmt(num(o, "budget_gib"), "%.0f"));
    }

    private static String fmt(Double v, String f) { return v == null ? "–" : String.format(Locale.ROOT, f, v); }

    /** 8.02 it/s; 28.3k tok/s. */
    static String speed(double v, String unit) {
        if (v >= 1000) {
            String k = String.format(Locale.ROOT, "%.2f", v / 1000).replaceAll("0+$", "").replaceAll("\\.$", "");
            return k + "k " + unit;
        }
        return String.format(Locale.ROOT, "%.2f %s", v, unit);
    }

    private static Double num(JsonNode o, String key) {
        return o.path(key).isNumber() ? o.get(key).doubleValue() : null;
    }

    private static String str(JsonNode o, String key, String where) throws IOException {
        if (o.path(key).isTextual()) return o.get(key).textValue();
        throw new IOException(where + ": missing \"" + key + "\"");
    }

    public static void main(String[] args) throws IOException {
        Path p = newest(Path.of(args.length > 0 ? args[0] : "bench/results"));
        var out = new java.io.PrintStream(System.out, true, java.nio.charset.StandardCharsets.UTF_8);
        out.println("From " + p + ":\n");
        out.print(markdown(p));
    }
}
