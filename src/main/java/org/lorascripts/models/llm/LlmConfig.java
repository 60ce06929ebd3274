package org.lorascripts.models.llm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.lorascripts.io.JsonReader;
import org.lorascripts.io.JsonValue;

/**
 * The architecture of a Llama-family causal LM, read from an HF {@code config.json}. One decoder
 * covers {@code model_type} llama (1/2/3/3.x), mistral and qwen2 (2/2.5); the differences are
 * switches here: attention biases, tied embeddings, head_dim, RoPE scaling, sliding windows.
 * RoPE settings are read from the classic fields ({@code rope_theta}, {@code rope_scaling}) and
 * from transformers 5's {@code rope_parameters}.
 *
 * @param layerWindows per layer, the sliding-window size (0 = full attention)
 * @param eosTokenIds  one or more end-of-sequence ids (HF allows a list)
 * @param storedDType  the checkpoint's {@code dtype}/{@code torch_dtype}, or null
 * @param warnings     things the loader accepted but a user should know
 */
public record LlmConfig(
        String modelType,
        long vocabSize,
        long hiddenSize,
        long intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        long headDim,
        double rmsNormEps,
        Rope rope,
        boolean qkvBias,
        boolean oProjBias,
        boolean mlpBias,
        boolean tieWordEmbeddings,
        Long bosTokenId,
        long[] eosTokenIds,
        long maxPositionEmbeddings,
        int[] layerWindows,
        String storedDType,
        List<String> warnings) {

    public static final List<String> SUPPORTED_TYPES = List.of("llama", "mistral", "qwen2");

    /**
     * Rotary embedding settings. type: default, linear or llama3 (others are rejected when the
     * config is read). factor, lowFreqFactor, highFreqFactor and originalMaxPositions are used by
     * the scaled types only.
     */
    public record Rope(String type, double theta, double factor, double lowFreqFactor, double highFreqFactor,
                       long originalMaxPositions) {
        public static Rope plain(double theta) { return new Rope("default", theta, 1, 0, 0, 0); }
    }

    public LlmConfig {
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads (" + numHeads + ") must be a multiple of num_key_value_heads (" + numKvHeads + ")");
        }
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim must be even for rotary embeddings, got " + headDim);
        if (layerWindows.length != numLayers) throw new IllegalArgumentException("one window per layer expected");
        warnings = List.copyOf(warnings);
    }

    /** A plain Llama with the given sizes (no bias, untied, default RoPE); used by built-in tiny models. */
    public static LlmConfig llama(long vocab, long hidden, long intermediate, int layers, int heads, int kvHeads, double ropeTheta) {
        return new LlmConfig("llama", vocab, hidden, intermediate, layers, heads, kvHeads, hidden / heads, 1e-5, Rope.plain(ropeTheta),
                false, false, false, false, 1L, new long[] {2}, 2048, new int[layers], "float32", List.of());
    }

    public int kvGroups() { return numHeads / numKvHeads; }

    public boolean isEos(long token) {
        for (long e : eosTokenIds) if (e == token) return true;
        return false;
    }

    /**
     * config.json as transformers writes it for this architecture. RoPE goes in the classic fields
     * (rope_theta, rope_scaling), which transformers 4 reads and transformers 5 converts.
     */
    public JsonValue.Obj toJson() {
        Map<String, JsonValue> m = new LinkedHashMap<>();
        String arch = switch (modelType) {
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            default -> "LlamaForCausalLM";
        };
        m.put("architectures", new JsonValue.Arr(List.of(JsonValue.of(arch))));
        if (!modelType.equals("qwen2")) m.put("attention_bias", JsonValue.of(qkvBias));
        m.put("attention_dropout", JsonValue.of(0.0));
        m.put("bos_token_id", bosTokenId == null ? JsonValue.Null.INSTANCE : JsonValue.of(bosTokenId));
        m.put("eos_token_id", eosTokenIds.length == 1 ? JsonValue.of(eosTokenIds[0])
                : new JsonValue.Arr(Arrays.stream(eosTokenIds).mapToObj(e -> (JsonValue) JsonValue.of(e)).toList()));
        m.put("head_dim", JsonValue.of(headDim));
        m.put("hidden_act", JsonValue.of("silu"));
        m.put("hidden_size", JsonValue.of(hiddenSize));
        m.put("initializer_range", JsonValue.of(0.02));
        m.put("intermediate_size", JsonValue.of(intermediateSize));
        m.put("max_position_embeddings", JsonValue.of(maxPositionEmbeddings));
        if (!modelType.equals("qwen2")) m.put("mlp_bias", JsonValue.of(mlpBias));
        m.put("model_type", JsonValue.of(modelType));
        m.put("num_attention_heads", JsonValue.of((long) numHeads));
        m.put("num_hidden_layers", JsonValue.of((long) numLayers));
        m.put("num_key_value_heads", JsonValue.of((long) numKvHeads));
        m.put("rms_norm_eps", JsonValue.of(rmsNormEps));
        m.put("rope_scaling", ropeJson());
        m.put("rope_theta", JsonValue.of(rope.theta()));
        int window = Arrays.stream(layerWindows).max().orElse(0);
        if (!modelType.equals("llama")) m.put("sliding_window", window == 0 ? JsonValue.Null.INSTANCE : JsonValue.of((long) window));
        m.put("tie_word_embeddings", JsonValue.of(tieWordEmbeddings));
        if (storedDType != null) m.put("torch_dtype", JsonValue.of(storedDType));
        m.put("use_cache", JsonValue.of(true));
        m.put("vocab_size", JsonValue.of(vocabSize));
        return new JsonValue.Obj(m);
    }

    private JsonValue ropeJson() {
        Map<String, JsonValue> r = new LinkedHashMap<>();
        switch (rope.type()) {
            case "linear" -> {
                r.put("factor", JsonValue.of(rope.factor()));
                r.put("rope_type", JsonValue.of("linear"));
            }
            case "llama3" -> {
                r.put("factor", JsonValue.of(rope.factor()));
                r.put("high_freq_factor", JsonValue.of(rope.highFreqFactor()));
                r.put("low_freq_factor", JsonValue.of(rope.lowFreqFactor()));
                r.put("original_max_position_embeddings", JsonValue.of(rope.originalMaxPositions()));
                r.put("rope_type", JsonValue.of("llama3"));
            }
            default -> { return JsonValue.Null.INSTANCE; }
        }
        return new JsonValue.Obj(r);
    }

    /** Reads {@code dir/config.json} (or the file itself when given a file). */
    public static LlmConfig read(Path dirOrFile) throws IOException {
        Path file = dirOrFile.getFileName().toString().endsWith(".json") ? dirOrFile : dirOrFile.resolve("config.json");
        JsonValue root = JsonReader.parse(file);
        if (!(root instanceof JsonValue.Obj o)) throw new IllegalArgumentException(file + ": config.json must hold a JSON object");
        return parse(o, file.toString());
    }

    public static LlmConfig parse(JsonValue.Obj c, String where) {
        Fields f = new Fields(c, where);
        String type = f.str("model_type", null);
        if (type == null) throw new IllegalArgumentException(where + ": no model_type; supported: " + String.join(", ", SUPPORTED_TYPES));
        if (!SUPPORTED_TYPES.contains(type)) {
            throw new IllegalArgumentException(where + ": model_type '" + type + "' is not supported; supported: " + String.join(", ", SUPPORTED_TYPES));
        }
        List<String> warnings = new ArrayList<>();
        String act = f.str("hidden_act", "silu");
        if (!act.equals("silu") && !act.equals("swish")) throw new IllegalArgumentException(where + ": hidden_act '" + act + "' is not supported (only silu)");
        long hidden = f.integer("hidden_size");
        int heads = (int) f.integer("num_attention_heads");
        int kvHeads = (int) f.integer("num_key_value_heads", heads);
        long headDim = f.has("head_dim") ? f.integer("head_dim") : hidden / heads;
        int layers = (int) f.integer("num_hidden_layers");
        boolean qwen = type.equals("qwen2");
        boolean attnBias = f.bool("attention_bias", false);
        boolean qkvBias = qwen || attnBias;
        boolean oBias = !qwen && attnBias;
        if (f.has("pretraining_tp") && f.integer("pretraining_tp") != 1) {
            warnings.add("pretraining_tp " + f.integer("pretraining_tp") + " is ignored (it only changes how matmuls are split, not the result)");
        }
        Rope rope = readRope(c, f, where);
        return new LlmConfig(type, f.integer("vocab_size"), hidden, f.integer("intermediate_size"), layers, heads, kvHeads, headDim,
                f.number("rms_norm_eps", 1e-6), rope, qkvBias, oBias, f.bool("mlp_bias", false),
                f.bool("tie_word_embeddings", false), f.optInteger("bos_token_id"), f.integers("eos_token_id"),
                f.integer("max_position_embeddings", 2048), windows(type, c, f, layers, warnings), f.str("dtype", f.str("torch_dtype", null)),
                warnings);
    }

    private static Rope readRope(JsonValue.Obj c, Fields f, String where) {
        JsonValue params = c.get("rope_parameters");
        JsonValue scaling = c.get("rope_scaling");
        JsonValue.Obj p = params instanceof JsonValue.Obj o ? o : scaling instanceof JsonValue.Obj o ? o : null;
        double theta = f.number("rope_theta", 10000.0);
        if (p == null) return Rope.plain(theta);
        Fields r = new Fields(p, where + " (" + (params instanceof JsonValue.Obj ? "rope_parameters" : "rope_scaling") + ")");
        if (p.members().values().stream().anyMatch(v -> v instanceof JsonValue.Obj)) {
            throw new IllegalArgumentException(where + ": per-layer-type RoPE parameters are not supported yet");
        }
        theta = r.number("rope_theta", theta);
        String type = r.str("rope_type", r.str("type", "default")).toLowerCase(Locale.ROOT);
        if (r.has("partial_rotary_factor") && r.number("partial_rotary_factor", 1) != 1) {
            throw new IllegalArgumentException(where + ": partial_rotary_factor != 1 is not supported yet");
        }
        return switch (type) {
            case "default", "none" -> Rope.plain(theta);
            case "linear" -> new Rope("linear", theta, r.number("factor"), 0, 0, 0);
            case "llama3" -> new Rope("llama3", theta, r.number("factor"), r.number("low_freq_factor"), r.number("high_freq_factor"),
                    r.integer("original_max_position_embeddings"));
            default -> throw new IllegalArgumentException(where + ": rope type '" + type
                    + "' is not supported yet (supported: default, linear, llama3)");
        };
    }

    /** Which layers use a sliding window, as transformers does for each model type. */
    private static int[] windows(String type, JsonValue.Obj c, Fields f, int layers, List<String> warnings) {
        int[] w = new int[layers];
        Long window = f.optInteger("sliding_window");
        if (window == null || window <= 0) return w;
        boolean[] sliding = new boolean[layers];
        if (c.get("layer_types") instanceof JsonValue.Arr types && types.items().size() == layers) {
            for (int i = 0; i < layers; i++) sliding[i] = types.items().get(i) instanceof JsonValue.Str s && s.value().equals("sliding_attention");
        } else if (type.equals("qwen2")) {
            boolean use = f.bool("use_sliding_window", false);
            long maxWindowLayers = f.integer("max_window_layers", layers);
            for (int i = 0; i < layers; i++) sliding[i] = use && i >= maxWindowLayers;
        } else {
            Arrays.fill(sliding, true);  // mistral: every layer
        }
        boolean any = false;
        for (int i = 0; i < layers; i++) {
            if (sliding[i]) { w[i] = Math.toIntExact(window); any = true; }
        }
        if (any) warnings.add("sliding-window attention (window " + window + ") is applied by an explicit mask: sequences longer than the window use the slower masked attention path");
        return w;
    }

    /** Typed access to config members with errors naming the file and key. */
    private record Fields(JsonValue.Obj o, String where) {
        boolean has(String k) { JsonValue v = o.get(k); return v != null && v != JsonValue.Null.INSTANCE; }

        long integer(String k) {
            JsonValue v = o.get(k);
            if (v instanceof JsonValue.Int i) return i.value();
            if (v instanceof JsonValue.Dec d && d.value() == Math.rint(d.value())) return (long) d.value();
            throw new IllegalArgumentException(where + ": " + k + " must be an integer" + (v == null ? " (missing)" : ", found " + v.typeName()));
        }

        long integer(String k, long dflt) { return has(k) ? integer(k) : dflt; }

        Long optInteger(String k) {
            if (!has(k)) return null;
            return integer(k);
        }

        long[] integers(String k) {
            if (!has(k)) return new long[0];
            if (o.get(k) instanceof JsonValue.Arr a) {
                long[] r = new long[a.items().size()];
                for (int i = 0; i < r.length; i++) {
                    if (!(a.items().get(i) instanceof JsonValue.Int n)) throw new IllegalArgumentException(where + ": " + k + " must hold integers");
                    r[i] = n.value();
                }
                return r;
            }
            return new long[] {integer(k)};
        }

        double number(String k) {
            JsonValue v = o.get(k);
            if (v instanceof JsonValue.Int i) return i.value();
            if (v instanceof JsonValue.Dec d) return d.value();
            throw new IllegalArgumentException(where + ": " + k + " must be a number" + (v == null ? " (missing)" : ", found " + v.typeName()));
        }

        double number(String k, double dflt) { return has(k) ? number(k) : dflt; }

        boolean bool(String k, boolean dflt) {
            if (!has(k)) return dflt;
            if (o.get(k) instanceof JsonValue.Bool b) return b.value();
            throw new IllegalArgumentException(where + ": " + k + " must be true or false, found " + o.get(k).typeName());
        }

        String str(String k, String dflt) {
            if (!has(k)) return dflt;
            if (o.get(k) instanceof JsonValue.Str s) return s.value();
            throw new IllegalArgumentException(where + ": " + k + " must be a string, found " + o.get(k).typeName());
        }
    }
}
