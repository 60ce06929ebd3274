package org.lorascripts.hub;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which files of a repository lora-scripts needs. With {@code include} globs, exactly the files they
 * match. Otherwise: for a diffusers repository (a {@code model_index.json}) the root's JSON and the
 * component folders the loaders read ({@code unet}, {@code vae}, {@code text_encoder[_2]},
 * {@code tokenizer[_2]}, {@code scheduler}), leaving out the root's single-file checkpoints; for any
 * other repository the root's files. Of those, safetensors weights, JSON configs and tokenizer files
 * only: pickles ({@code .bin}, {@code .ckpt}, {@code .pt}, ...) are never fetched, since lora-scripts
 * never opens them. Weights come in one variant per folder: {@code variant} (e.g. fp16:
 * {@code model.fp16.safetensors}) when asked and present, else the plain files, else whatever variant
 * the folder has.
 */
public record FileSelection(List<String> include, Optional<String> variant) {
    public static final FileSelection AUTO = new FileSelection(List.of(), Optional.empty());

    static final Set<String> DIFFUSERS_COMPONENTS = Set.of("unet", "vae", "text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "scheduler");
    static final List<String> PICKLES = List.of(".bin", ".ckpt", ".pt", ".pth", ".pkl", ".pickle", ".h5", ".msgpack");
    private static final Set<String> TOKENIZER_FILES = Set.of("tokenizer.model", "spiece.model", "sentencepiece.bpe.model",
            "vocab.txt", "merges.txt", "vocab.json", "tokenizer.json", "added_tokens.json");
    private static final Set<String> KNOWN_VARIANTS = Set.of("fp16", "bf16", "fp32", "fp8", "ema", "non_ema");
    /** stem, optional .variant, optional shard suffix, then .safetensors or .safetensors.index.json */
    private static final Pattern WEIGHTS = Pattern.compile("(.+?)(?:\\.([a-z0-9_]+))?(-\\d{5}-of-\\d{5})?\\.safetensors(\\.index\\.json)?");

    public FileSelection {
        include = List.copyOf(include);
        variant = variant.map(v -> v.strip().toLowerCase(Locale.ROOT)).filter(v -> !v.isEmpty());
    }

    public static FileSelection files(String... globs) { return new FileSelection(List.of(globs), Optional.empty()); }

    public static FileSelection variant(String v) { return new FileSelection(List.of(), Optional.ofNullable(v)); }

    /** The repository paths to fetch out of {@code all}; throws when the repository has nothing lora-scripts can load. */
    List<String> select(String repo, List<String> all) {
        if (!include.isEmpty()) {
            List<PathMatcher> matchers = include.stream().map(g -> FileSystems.getDefault().getPathMatcher("glob:" + g)).toList();
            List<String> out = all.stream().filter(f -> matchers.stream().anyMatch(m -> m.matches(Path.of(f)))).toList();
            if (out.isEmpty()) throw new HubException(repo + " has no file matching " + String.join(", ", include)
                    + " (its files: " + brief(all) + ")");
            return out;
        }
        boolean diffusers = all.contains("model_index.json");
        List<String> candidates = new ArrayList<>();
        for (String f : all) {
            int slash = f.indexOf('/');
            boolean root = slash < 0;
            if (diffusers ? !(root || (DIFFUSERS_COMPONENTS.contains(f.substring(0, slash)) && f.indexOf('/', slash + 1) < 0)) : !root) continue;
            String name = root ? f : f.substring(f.lastIndexOf('/') + 1);
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.endsWith(".safetensors")) {
                if (diffusers && root) continue;   // a single-file checkpoint beside the diffusers folders
                candidates.add(f);
            } else if (lower.endsWith(".json") || TOKENIZER_FILES.contains(lower) || (lower.endsWith(".yaml") && !diffusers)) {
                candidates.add(f);
            }
        }
        List<String> out = pickVariant(candidates);
        if (out.stream().noneMatch(f -> f.toLowerCase(Locale.ROOT).endsWith(".safetensors"))) {
            List<String> pickles = all.stream().filter(f -> PICKLES.stream().anyMatch(f.toLowerCase(Locale.ROOT)::endsWith)).toList();
            if (!pickles.isEmpty()) {
                throw new HubException(repo + " has no .safetensors weights, only pickles (" + brief(pickles) + "), which lora-scripts"
                        + " never loads: choose a repository with .safetensors files, or convert the weights first");
            }
        }
        if (!diffusers && !out.contains("config.json")) {
            List<String> checkpoints = out.stream().filter(f -> f.endsWith(".safetensors") && shardOf(f) == null).toList();
            if (checkpoints.size() > 1) {
                throw new HubException(repo + " holds several checkpoint files; name one as " + repo + "/FILE, e.g. " + repo + "/"
                        + checkpoints.get(0) + " (files: " + brief(checkpoints) + ")");
            }
        }
        return out;
    }

    /** The file a one-checkpoint repository stands for, when it has no config.json or model_index.json. */
    static Optional<String> singleCheckpoint(List<String> selected) {
        if (selected.contains("config.json") || selected.contains("model_index.json") || selected.contains("adapter_config.json")) {
            return Optional.empty();   // a model or adapter folder
        }
        List<String> weights = selected.stream().filter(f -> f.endsWith(".safetensors")).toList();
        return weights.size() == 1 && shardOf(weights.get(0)) == null ? Optional.of(weights.get(0)) : Optional.empty();
    }

    private static String shardOf(String f) {
        Matcher m = WEIGHTS.matcher(f.substring(f.lastIndexOf('/') + 1));
        return m.matches() ? m.group(3) : null;
    }

    /** Per folder: the asked variant's weights if present, else the plain weights, else the folder's variant weights. */
    private List<String> pickVariant(List<String> files) {
        Map<String, List<String>> plain = new LinkedHashMap<>(), asked = new LinkedHashMap<>(), other = new LinkedHashMap<>();
        List<String> rest = new ArrayList<>();
        for (String f : files) {
            String folder = f.contains("/") ? f.substring(0, f.lastIndexOf('/')) : "";
            String name = f.substring(f.lastIndexOf('/') + 1);
            Matcher m = WEIGHTS.matcher(name);
            if (!m.matches()) {
                rest.add(f);
                continue;
            }
            String v = m.group(2);
            if (v == null || !KNOWN_VARIANTS.contains(v)) plain.computeIfAbsent(folder, k -> new ArrayList<>()).add(f);
            else if (variant.isPresent() && variant.get().equals(v)) asked.computeIfAbsent(folder, k -> new ArrayList<>()).add(f);
            else other.computeIfAbsent(folder, k -> new ArrayList<>()).add(f);
        }
        List<String> out = new ArrayList<>(rest);
        java.util.Set<String> folders = new java.util.LinkedHashSet<>();
        folders.addAll(plain.keySet());
        folders.addAll(asked.keySet());
        folders.addAll(other.keySet());
        for (String folder : folders) {
            if (asked.containsKey(folder)) out.addAll(asked.get(folder));
            else if (plain.containsKey(folder)) out.addAll(plain.get(folder));
            else out.addAll(other.get(folder));
        }
        return out.stream().sorted().toList();
    }

    private static String brief(List<String> files) {
        return files.size() <= 6 ? String.join(", ", files) : String.join(", ", files.subList(0, 6)) + ", ... " + files.size() + " in all";
    }
}
