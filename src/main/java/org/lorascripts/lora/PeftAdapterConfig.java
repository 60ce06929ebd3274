package org.lorascripts.lora;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.lorascripts.io.JsonValue;

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
        Map<String, Double> alphaPattern) {

    public PeftAdapterConfig {
        if (r < 1) throw new IllegalArgumentException("r must be >= 1, got " + r);
        if ((targetModules == null) == (targetRegex == null)) throw new IllegalArgumentException("give either target_modules names or a target regex");
        targetModules = targetModules == null ? null : List.copyOf(targetModules);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        rankPattern = Map.copyOf(rankPattern);
        alphaPattern = Map.copyOf(alphaPattern);
    }

    public static PeftAdapterConfig of(int r, double alpha, double dropout, List<String> targetModules, boolean rsLora, String baseModel) {
        return new PeftAdapterConfig(r, alpha, dropout, targetModules, null, rsLora, baseModel, null, Map.of(), Map.of());
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
    public JsonValue.Obj toJson() {
        Map<String, JsonValue> m = new TreeMap<>();
        JsonValue nul = JsonValue.Null.INSTANCE;
        m.put("alpha_pattern", obj(alphaPattern, JsonValue::of));
        m.put("auto_mapping", nul);
        m.put("base_model_name_or_path", baseModelNameOrPath == null ? nul : JsonValue.of(baseModelNameOrPath));
        m.put("bias", JsonValue.of("none"));
        m.put("corda_config", nul);
        m.put("eva_config", nul);
        m.put("exclude_modules", nul);
        m.put("fan_in_fan_out", JsonValue.of(false));
        m.put("inference_mode", JsonValue.of(true));
        m.put("init_lora_weights", JsonValue.of(true));
        m.put("layer_replication", nul);
        m.put("layers_pattern", nul);
        m.put("layers_to_transform", layersToTransform == null ? nul
                : new JsonValue.Arr(layersToTransform.stream().map(i -> (JsonValue) JsonValue.of((long) i)).toList()));
        m.put("loftq_config", new JsonValue.Obj(Map.of()));
        m.put("lora_alpha", number(loraAlpha));
        m.put("lora_bias", JsonValue.of(false));
        m.put("lora_dropout", JsonValue.of(loraDropout));
        m.put("megatron_config", nul);
        m.put("megatron_core", JsonValue.of("megatron.core"));
        m.put("modules_to_save", nul);
        m.put("peft_type", JsonValue.of("LORA"));
        m.put("r", JsonValue.of((long) r));
        m.put("rank_pattern", obj(rankPattern, v -> JsonValue.of((long) v)));
        m.put("revision", nul);
        m.put("target_modules", targetRegex != null ? JsonValue.of(targetRegex)
                : new JsonValue.Arr(targetModules.stream().sorted().map(s -> (JsonValue) JsonValue.of(s)).toList()));
        m.put("target_parameters", nul);
        m.put("task_type", JsonValue.of("CAUSAL_LM"));
        m.put("trainable_token_indices", nul);
        m.put("use_dora", JsonValue.of(false));
        m.put("use_qalora", JsonValue.of(false));
        m.put("use_rslora", JsonValue.of(useRslora));
        return new JsonValue.Obj(new LinkedHashMap<>(m));
    }

    private static <T> JsonValue obj(Map<String, T> map, java.util.function.Function<T, JsonValue> f) {
        Map<String, JsonValue> m = new TreeMap<>();
        map.forEach((k, v) -> m.put(k, f.apply(v)));
        return new JsonValue.Obj(m);
    }

    /** Integers as integers (lora_alpha: 16, not 16.0), as Python writes them. */
    private static JsonValue number(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? JsonValue.of((long) v) : JsonValue.of(v);
    }

    /**
     * Reads adapter_config.json, rejecting what this loader cannot apply faithfully (DoRA, trained
     * biases, extra saved modules, non-LoRA PEFT types).
     */
    public static PeftAdapterConfig fromJson(JsonValue.Obj o, String where) {
        String type = str(o, "peft_type", null);
        if (!"LORA".equals(type)) throw new IllegalArgumentException(where + ": peft_type is " + type + "; only LORA adapters are supported");
        if (bool(o, "use_dora")) throw new IllegalArgumentException(where + ": DoRA adapters (use_dora) are not supported");
        if (bool(o, "lora_bias")) throw new IllegalArgumentException(where + ": lora_bias adapters are not supported");
        if (bool(o, "fan_in_fan_out")) throw new IllegalArgumentException(where + ": fan_in_fan_out (Conv1D models) is not supported");
        String bias = str(o, "bias", "none");
        if (!bias.equals("none")) throw new IllegalArgumentException(where + ": bias '" + bias + "' is not supported (only \"none\")");
        if (o.get("modules_to_save") instanceof JsonValue.Arr a && !a.items().isEmpty()) {
            throw new IllegalArgumentException(where + ": modules_to_save " + a.items().size() + " full modules; only pure LoRA adapters are supported");
        }
        List<String> names = null;
        String regex = null;
        JsonValue t = o.get("target_modules");
        if (t instanceof JsonValue.Str s) regex = s.value();
        else if (t instanceof JsonValue.Arr a) {
            names = new ArrayList<>();
            for (JsonValue v : a.items()) if (v instanceof JsonValue.Str s) names.add(s.value());
        } else names = List.of();  // the weights still say which modules are adapted
        List<Integer> layers = null;
        if (o.get("layers_to_transform") instanceof JsonValue.Arr a) {
            layers = new ArrayList<>();
            for (JsonValue v : a.items()) if (v instanceof JsonValue.Int i) layers.add((int) i.value());
        } else if (o.get("layers_to_transform") instanceof JsonValue.Int i) {
            layers = List.of((int) i.value());
        }
        Map<String, Integer> ranks = new LinkedHashMap<>();
        if (o.get("rank_pattern") instanceof JsonValue.Obj rp) rp.members().forEach((k, v) -> ranks.put(k, (int) num(v, where)));
        Map<String, Double> alphas = new LinkedHashMap<>();
        if (o.get("alpha_pattern") instanceof JsonValue.Obj ap) ap.members().forEach((k, v) -> alphas.put(k, num(v, where)));
        int r = o.get("r") == null ? 8 : (int) num(o.get("r"), where);
        double alpha = o.get("lora_alpha") == null ? 8 : num(o.get("lora_alpha"), where);
        double dropout = o.get("lora_dropout") == null ? 0 : num(o.get("lora_dropout"), where);
        return new PeftAdapterConfig(r, alpha, dropout, names, regex, bool(o, "use_rslora"), str(o, "base_model_name_or_path", null),
                layers, ranks, alphas);
    }

    private static double num(JsonValue v, String where) {
        if (v instanceof JsonValue.Int i) return i.value();
        if (v instanceof JsonValue.Dec d) return d.value();
        throw new IllegalArgumentException(where + ": expected a number, found " + v.typeName());
    }

    private static boolean bool(JsonValue.Obj o, String k) { return o.get(k) instanceof JsonValue.Bool b && b.value(); }

    private static String str(JsonValue.Obj o, String k, String dflt) { return o.get(k) instanceof JsonValue.Str s ? s.value() : dflt; }
}
