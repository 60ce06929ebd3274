package org.lorascripts.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.lorascripts.io.Json;
import org.lorascripts.io.JsonFields;

/**
 * The fields of PEFT's {@code adapter_config.json} (LoraConfig) that decide what a LoRA adapter
 * is and how it loads. Written with every key PEFT 0.17-0.21 writes, sorted as PEFT sorts them;
 * PEFT drops keys it does not know (with a warning), so older versions load it too.
 * Reference: https://github.com/huggingface/peft/blob/main/src/peft/tuners/lora/config.py
 *
 * @param targetModules   short module names (["q_proj", "v_proj"]), matched as PEFT does: equal to
 *                        the module path or a {@code .name} suffix of it; null when {@code targetRegex} is used
 * @param targetRegex     a regular expression the full module path must match, or null
 * @param layersToTransform layer indices to adapt (null: all)
 * @param rankPattern     per-module rank overrides (regex key), as PEFT's rank_pattern
 * @param alphaPattern    per-module alpha overrides (regex key), as PEFT's alpha_pattern
 * @param useDora         DoRA (PEFT's use_dora): every module also has a {@code lora_magnitude_vector}
 */
public record PeftAdapterConfig(
        int r,
        double loraAlpha,
        double loraDropout,
        List<String> targetModules,
        String targetRegex,
        boolean useRslora,
        String baseModelNameOrPath,
        List<Integer> layersToTransform,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        boolean useDora) {

    public PeftAdapterConfig {
        if (r < 1) throw new IllegalArgumentException("r must be >= 1, got " + r);
        if ((targetModules == null) == (targetRegex == null)) throw new IllegalArgumentException("give either target_modules names or a target regex");
        targetModules = targetModules == null ? null : List.copyOf(targetModules);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        rankPattern = Map.copyOf(rankPattern);
        alphaPattern = Map.copyOf(alphaPattern);
    }

    public static PeftAdapterConfig of(int r, double alpha, double dropout, List<String> targetModules, boolean rsLora, String baseModel) {
        return new PeftAdapterConfig(r, alpha, dropout, targetModules, null, rsLora, baseModel, null, Map.of(), Map.of(), false);
    }

    /** Rank of one module (rank_pattern first). */
    public int rankFor(String module) {
        for (var e : rankPattern.entrySet()) if (patternMatches(e.getKey(), module)) return e.getValue();
        return r;
    }

    /** Alpha of one module (alpha_pattern first). */
    public double alphaFor(String module) {
        for (var e : alphaPattern.entrySet()) if (patternMatches(e.getKey(), module)) return e.getValue();
        return loraAlpha;
    }

    /** alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public double scaleFor(String module) {
        int rank = rankFor(module);
        double alpha = alphaFor(module);
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** PEFT's get_pattern_key: the key matches the module path or a dotted suffix of it. */
    static boolean patternMatches(String key, String module) {
        return Pattern.compile("(.*\\.)?(" + key + ")$").matcher(module).matches();
    }

    /** adapter_config.json as PEFT writes it (keys sorted). */
    public ObjectNode toJson() {
        Map<String, Object> m = new TreeMap<>();
        for (String k : List.of("auto_mapping", "corda_config", "eva_config", "exclude_modules", "layer_replication", "layers_pattern",
                "megatron_config", "modules_to_save", "revision", "target_parameters", "trainable_token_indices")) {
            m.put(k, null);
        }
        Map<String, Object> alphas = new TreeMap<>();
        alphaPattern.forEach((k, v) -> alphas.put(k, number(v)));
        m.put("alpha_pattern", Json.object(alphas));
        m.put("base_model_name_or_path", baseModelNameOrPath);
        m.put("bias", "none");
        m.put("fan_in_fan_out", false);
        m.put("inference_mode", true);
        m.put("init_lora_weights", true);
        m.put("layers_to_transform", layersToTransform);
        m.put("loftq_config", Json.object());
        m.put("lora_alpha", number(loraAlpha));
        m.put("lora_bias", false);
        m.put("lora_dropout", loraDropout);
        m.put("megatron_core", "megatron.core");
        m.put("peft_type", "LORA");
        m.put("r", r);
        m.put("rank_pattern", Json.object(new TreeMap<>(rankPattern)));
        m.put("target_modules", targetRegex != null ? targetRegex : targetModules.stream().sorted().toList());
        m.put("task_type", "CAUSAL_LM");
        m.put("use_dora", useDora);
        m.put("use_qalora", false);
        m.put("use_rslora", useRslora);
        return Json.object(m);
    }

    /** Integers as integers (lora_alpha: 16, not 16.0), as Python writes them. */
    private static Number number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? (Number) (long) v : (Number) v;
    }

    /**
     * Reads adapter_config.json, rejecting what this loader cannot apply faithfully (trained
     * biases, extra saved modules, non-LoRA PEFT types).
     */
    public static PeftAdapterConfig fromJson(JsonNode json, String where) {
        JsonFields f = JsonFields.of(json, where);
        String type = f.string("peft_type", null);
        if (!"LORA".equals(type)) throw new IllegalArgumentException(where + ": peft_type is " + type + "; only LORA adapters are supported");
        if (f.bool("lora_bias", false)) throw new IllegalArgumentException(where + ": lora_bias adapters are not supported");
        if (f.bool("fan_in_fan_out", false)) throw new IllegalArgumentException(where + ": fan_in_fan_out (Conv1D models) is not supported");
        String bias = f.string("bias", "none");
        if (!bias.equals("none")) throw new IllegalArgumentException(where + ": bias '" + bias + "' is not supported (only \"none\")");
        List<String> saved = f.strings("modules_to_save", List.of());
        if (!saved.isEmpty()) {
            throw new IllegalArgumentException(where + ": modules_to_save " + saved.size() + " full modules; only pure LoRA adapters are supported");
        }
        // a regex string or a list of names; absent, the weights still say which modules are adapted
        JsonNode targets = f.get("target_modules");
        String regex = targets != null && targets.isTextual() ? targets.textValue() : null;
        List<String> names = regex != null ? null : f.strings("target_modules", List.of());
        Map<String, Integer> ranks = new LinkedHashMap<>();
        JsonFields rp = f.object("rank_pattern");
        if (rp != null) rp.node().fieldNames().forEachRemaining(k -> ranks.put(k, rp.integer(k)));
        Map<String, Double> alphas = new LinkedHashMap<>();
        JsonFields ap = f.object("alpha_pattern");
        if (ap != null) ap.node().fieldNames().forEachRemaining(k -> alphas.put(k, ap.number(k)));
        return new PeftAdapterConfig(f.integer("r", 8), f.number("lora_alpha", 8), f.number("lora_dropout", 0), names, regex,
                f.bool("use_rslora", false), f.string("base_model_name_or_path", null), f.integers("layers_to_transform", 1, null),
                ranks, alphas, f.bool("use_dora", false));
    }
}
