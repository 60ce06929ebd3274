package org.lorascripts.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.lorascripts.hub.FileSelection;
import org.lorascripts.config.ConfigException;
import org.lorascripts.lora.KohyaLoraReader;
import org.lorascripts.lora.KohyaLoraWriter;
import org.lorascripts.lora.LoraMerge;
import org.lorascripts.lora.MergedModelWriter;
import org.lorascripts.models.sd.load.TinySdBuiltin;
import org.lorascripts.tasks.sd.CheckpointLoraMerge;
import org.lorascripts.tasks.sd.CheckpointLoraTargets;
import org.lorascripts.tensor.DType;
import org.lorascripts.models.llm.LlmModelFolder;
import org.lorascripts.text.TokenizerException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./lora merge}, by what it is given:
 * <ul>
 *   <li>{@code --base} an HF LLM folder (or builtin:tiny-llama) and one PEFT {@code --lora} folder: folds the adapter
 *       into the model and writes a full HF folder that loads without PEFT (W + B·A·scale in each weight's stored
 *       dtype, other files copied);</li>
 *   <li>{@code --base} an LDM single-file SD checkpoint (or builtin:tiny-sd / builtin:tiny-sdxl) and kohya
 *       {@code --lora} files, each with a weight ({@code a.safetensors:0.8} or {@code --ratio}): a checkpoint with
 *       W + Σ w·delta, each tensor in its own dtype;</li>
 *   <li>no {@code --base}: several kohya LoRAs into one LoRA, ranks concatenated (exact) or, with {@code --rank},
 *       re-decomposed by SVD (kohya's svd_merge_lora).</li>
 * </ul>
 * The output appears complete or not at all. Exit codes: 0 ok, 2 bad input, 1 unexpected.
 */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = {"Merge LoRAs into their base model, or several LoRAs into one.",
                "A PEFT adapter goes into its LLM (a standalone HF folder), kohya LoRAs into an SD single-file checkpoint;",
                "without --base, several kohya LoRAs become one."},
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora merge --base models/Llama-3.2-1B \\",
            "      --lora output/llm_domain/llama32_domain --output models/llama32-domain",
            "  ./lora merge --base builtin:tiny-llama \\",
            "      --lora runs/quickstart-text/quickstart_text \\",
            "      -o runs/tiny-merged --force",
            "      (--force replaces an existing --output folder)",
            "  ./lora generate --base models/llama32-domain --prompt \"The risks are\"",
            "      (the merged folder loads wherever the base model did, without PEFT)",
            "  ./lora merge --base models/v1-5-pruned.safetensors \\",
            "      --lora output/style.safetensors:0.8 --lora output/face.safetensors:0.5 \\",
            "      -o models/v1-5-style-face.safetensors",
            "      (an SD checkpoint with both LoRAs folded in; --ratio 0.8,0.5 gives the weights in one list)",
            "  ./lora merge --lora output/style.safetensors --lora output/face.safetensors \\",
            "      --ratio 0.8,0.5 --rank 32 -o output/style-face.safetensors",
            "      (one LoRA; without --rank the ranks are concatenated, which is exact)%n"})
public final class MergeCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--base", paramLabel = "MODEL", description = {"HF model folder (or ORG/NAME on the Hugging Face Hub) the adapter was trained on (or builtin:tiny-llama),",
            "or an SD single-file .safetensors checkpoint (or builtin:tiny-sd, builtin:tiny-sdxl); none: merge LoRAs into one LoRA."})
    String base;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Loras lora;

    @Option(names = "--ratio", split = ",", paramLabel = "W", description = "Weights of the --lora files in order (instead of FILE:W); default 1.")
    List<Double> ratios;

    @Option(names = "--rank", paramLabel = "R", description = "LoRA merge only: re-decompose the summed deltas to this rank by SVD (default: concatenate ranks).")
    Integer rank;

    @Option(names = "--conv-rank", paramLabel = "R", description = "LoRA merge only: rank of 3x3 convolutions with --rank (default: --rank).")
    Integer convRank;

    @Option(names = "--clamp-quantile", paramLabel = "Q", defaultValue = "0.99", description = "LoRA merge with --rank: clamp factors at this quantile, as kohya (default: ${DEFAULT-VALUE}; 1 = none).")
    double clampQuantile;

    @Option(names = "--save-precision", paramLabel = "P", description = "LoRA merge only: fp16, bf16 or fp32 (default: the first LoRA's).")
    String savePrecision;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Output output;

    @Option(names = "--force", description = "Replace --output when it exists and is not empty.")
    boolean force;

    /** {@code --lora} (repeatable) and its hidden first name {@code --adapter} (one PEFT folder). */
    static final class Loras {
        @Option(names = "--lora", required = true, paramLabel = "LORA[:W]",
                description = {"A PEFT adapter folder (LLM), or a kohya .safetensors LoRA with an optional weight (FILE:0.8);",
                        "repeat for several kohya LoRAs."})
        List<String> loras;

        @Option(names = "--adapter", required = true, hidden = true, paramLabel = "DIR")
        Path adapter;

        List<String> all() { return loras != null ? loras : List.of(adapter.toString()); }
    }

    /** {@code -o/--output DIR}; {@code --out}, its first name, still works but is hidden from help. */
    static final class Output {
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "PATH", description = "Folder (LLM) or .safetensors file (SD checkpoint, LoRA) to write.")
        Path output;

        @Option(names = "--out", required = true, hidden = true, paramLabel = "DIR")
        Path out;

        Path folder() { return output != null ? output : out; }
    }

    @Override public Integer call() {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        try {
            if (base != null) base = HubModels.local(base, FileSelection.AUTO);   // ORG/NAME: fetched from the Hub
            if (base == null) return mergeLoras(o);
            if (isImageCheckpoint(base)) return mergeIntoCheckpoint(o);
            if (ratios != null || rank != null || convRank != null || savePrecision != null) {
                throw new IllegalArgumentException("--ratio, --rank, --conv-rank and --save-precision are for kohya LoRAs; --base " + base
                        + " is an LLM, merged with one PEFT adapter");
            }
            if (lora.all().size() != 1) throw new IllegalArgumentException("an LLM merge takes one --lora (a PEFT adapter folder), got " + lora.all().size());
            LlmModelFolder folder = LlmModelFolder.resolve(base);
            Path adapter = Path.of(lora.all().get(0)), out = output.folder();
            Path target = out.toAbsolutePath().normalize();
            if (target.equals(folder.dir()) || target.equals(adapter.toAbsolutePath().normalize())) {
                throw new ConfigException("--output " + out + " is the base model or --lora folder; choose a new folder");
            }
            if (Files.exists(target) && !force && !isEmptyDirectory(target)) {
                throw new ConfigException("--output " + out + " already exists and is not empty; choose another folder or add --force to replace it");
            }
            MergedModelWriter.write(folder.dir(), adapter, target);
            o.println("merged " + adapter + " into " + folder.name() + ": " + target);
            o.flush();
            return 0;
        } catch (IOException | IllegalArgumentException | TokenizerException e) {
            return ErrorReporter.reportUserError(e, err);
        } catch (Exception e) {
            return ErrorReporter.report(e, err);
        }
    }

    /** An SD single file or built-in image model, rather than an LLM folder. */
    private static boolean isImageCheckpoint(String base) {
        if (base.startsWith("builtin:")) return TinySdBuiltin.byName(base).isPresent();
        return base.toLowerCase(Locale.ROOT).endsWith(".safetensors") && !Files.isDirectory(Path.of(base));
    }

    /** The --lora files with their weights: FILE:W, else --ratio, else 1. */
    private List<WeightedPath> weighted() {
        List<String> given = lora.all();
        if (ratios != null && ratios.size() != given.size()) {
            throw new IllegalArgumentException("--ratio has " + ratios.size() + " weights for " + given.size() + " --lora files; give one per file");
        }
        List<WeightedPath> out = new ArrayList<>();
        for (int i = 0; i < given.size(); i++) {
            String g = given.get(i);
            Double w = null;
            int colon = g.lastIndexOf(':');
            if (colon > 0 && colon < g.length() - 1) {
                try {
                    w = Double.parseDouble(g.substring(colon + 1));
                    g = g.substring(0, colon);
                } catch (NumberFormatException notAWeight) {
                    w = null;
                }
            }
            if (w != null && ratios != null) throw new IllegalArgumentException("--lora " + given.get(i) + " has a weight and --ratio gives one too; use one of them");
            if (w == null) w = ratios != null ? ratios.get(i) : 1.0;
            if (!Double.isFinite(w)) throw new IllegalArgumentException("--lora " + given.get(i) + ": the weight must be a finite number");
            Path p = Path.of(g);
            if (Files.isDirectory(p)) throw new IllegalArgumentException("--lora " + g + " is a folder; image merges take kohya .safetensors files");
            if (!Files.exists(p)) throw new IllegalArgumentException("--lora " + g + ": no such file");
            out.add(new WeightedPath(p, w));
        }
        return out;
    }

    private record WeightedPath(Path path, double weight) {}

    private int mergeIntoCheckpoint(PrintWriter o) throws IOException {
        if (rank != null || convRank != null || savePrecision != null) {
            throw new IllegalArgumentException("--rank, --conv-rank and --save-precision are for merging LoRAs into a LoRA (no --base);"
                    + " a checkpoint keeps each tensor's dtype");
        }
        Path ckpt = CheckpointLoraTargets.resolve(base), out = output.folder();
        List<WeightedPath> ws = weighted();
        List<Path> inputs = new ArrayList<>(ws.stream().map(WeightedPath::path).toList());
        inputs.add(ckpt);
        LoraFileArgs.checkOutput(out, force, inputs.toArray(Path[]::new));
        List<KohyaLoraReader.LoraFile> files = new ArrayList<>();
        try {
            List<CheckpointLoraMerge.Weighted> loras = new ArrayList<>();
            for (WeightedPath w : ws) {
                KohyaLoraReader.LoraFile f = KohyaLoraReader.read(w.path());
                files.add(f);
                loras.add(new CheckpointLoraMerge.Weighted(f, w.weight()));
            }
            CheckpointLoraMerge.Report r = CheckpointLoraMerge.merge(ckpt, loras, out);
            for (int i = 0; i < ws.size(); i++) {
                o.println("  " + ws.get(i).path() + " x " + LoraFileArgs.fmt(ws.get(i).weight()) + ": " + r.modulesPerLora().get(i) + " modules");
            }
            o.println("merged " + ws.size() + " LoRA" + (ws.size() == 1 ? "" : "s") + " into " + base + " (" + r.family().displayName + ", "
                    + r.tensorsChanged() + " tensors changed): " + out);
        } finally {
            files.forEach(KohyaLoraReader.LoraFile::close);
        }
        o.flush();
        return 0;
    }

    private int mergeLoras(PrintWriter o) throws IOException {
        Path out = output.folder();
        List<WeightedPath> ws = weighted();
        LoraFileArgs.checkOutput(out, force, ws.stream().map(WeightedPath::path).toArray(Path[]::new));
        if (convRank != null && rank == null) throw new IllegalArgumentException("--conv-rank needs --rank (without it ranks are concatenated)");
        if (rank != null && (rank < 1 || (convRank != null && convRank < 1))) throw new IllegalArgumentException("--rank and --conv-rank must be at least 1");
        DType dtype = savePrecision != null ? LoraFileArgs.saveDtype(savePrecision) : LoraFileArgs.storedDtype(ws.get(0).path());
        List<KohyaLoraReader.LoraFile> files = new ArrayList<>();
        try {
            List<LoraMerge.Weighted> loras = new ArrayList<>();
            for (WeightedPath w : ws) {
                KohyaLoraReader.LoraFile f = KohyaLoraReader.read(w.path());
                files.add(f);
                loras.add(new LoraMerge.Weighted(f, w.weight()));
            }
            try (LoraMerge.Result r = LoraMerge.merge(loras, rank, convRank, clampQuantile)) {
                KohyaLoraWriter.writeModules(out, r.modules(), dtype, mergedMetadata(files, ws, r));
                double mean = r.froRetained().values().stream().mapToDouble(Double::doubleValue).average().orElse(1);
                o.printf(Locale.ROOT, "merged %d LoRAs into %d modules (%s): %s%n", ws.size(), r.modules().size(),
                        rank == null ? "ranks concatenated, exact" : String.format(Locale.ROOT, "rank %d by SVD, average Frobenius norm kept %.2f%%", rank, 100 * mean), out);
            }
        } finally {
            files.forEach(KohyaLoraReader.LoraFile::close);
        }
        o.flush();
        return 0;
    }

    /** kohya's network keys for the merged file, the first LoRA's base model keys, and where it came from. */
    private Map<String, String> mergedMetadata(List<KohyaLoraReader.LoraFile> files, List<WeightedPath> ws, LoraMerge.Result r) {
        Map<String, String> m = new LinkedHashMap<>();
        Map<String, String> first = files.get(0).metadata();
        for (String k : List.of("ss_base_model_version", "ss_v2", "ss_sd_model_name", "modelspec.architecture")) {
            if (first.containsKey(k)) m.put(k, first.get(k));
        }
        m.put("ss_network_module", "networks.lora");
        var ranks = r.modules().stream().mapToInt(KohyaLoraReader.Module::rank).distinct().toArray();
        String dim = ranks.length == 1 ? Integer.toString(ranks[0]) : "Dynamic";
        m.put("ss_network_dim", dim);
        m.put("ss_network_alpha", ranks.length == 1 ? ranks[0] + ".0" : "Dynamic");
        List<String> from = new ArrayList<>();
        for (WeightedPath w : ws) from.add(w.path().getFileName() + ":" + LoraFileArgs.fmt(w.weight()));
        m.put("ss_merged_from", String.join(", ", from));
        m.put("ss_training_comment", "merged from " + String.join(", ", from) + (rank == null ? " (ranks concatenated)" : " (SVD to rank " + rank + ")"));
        return m;
    }

    private static boolean isEmptyDirectory(Path p) throws IOException {
        if (!Files.isDirectory(p)) return false;
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }
}
