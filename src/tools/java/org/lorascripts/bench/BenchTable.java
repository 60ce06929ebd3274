package org.lorascripts.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.lorascripts.io.Json;

/**
 * README's speed and memory table, generated from the newest committed benchmark results
 * ({@code bench/results/DATE-MACHINE.jsonl}: one object per configuration with {@code config},
 * {@code unit}, {@code ours}, {@code reference}, peak memories in GiB, or only a {@code ratio}).
 * {@code java -cp ... org.lorascripts.bench.BenchTable bench/results} prints it.
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
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            JsonNode o = Json.parse(lines.get(i));
            String where = results.getFileName() + ":" + (i + 1);
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
        return sb.toString();
    }

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
