package org.lorascripts.models.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.lorascripts.io.Json;
import org.lorascripts.io.JsonFields;

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
    public ObjectNode toJson() {
        String arch = switch (modelType) {
            case "mistral" -> "MistralForCausalLM";
            case "qwen2" -> "Qwen2ForCausalLM";
            default -> "LlamaForCausalLM";
        };
        boolean qwen = modelType.equals("qwen2");
        ObjectNode m = Json.object();
        m.set("architectures", Json.array(arch));
        if (!qwen) m.put("attention_bias", qkvBias);
        m.put("attention_dropout", 0.0);
        m.put("bos_token_id", bosTokenId);
        m.set("eos_token_id", eosTokenIds.length == 1 ? Json.node(eosTokenIds[0]) : Json.node(eosTokenIds));
        m.put("head_dim", headDim);
        m.put("hidden_act", "silu");
        m.put("hidden_size", hiddenSize);
        m.put("initializer_range", 0.02);
        m.put("intermediate_size", intermediateSize);
        m.put("max_position_embeddings", maxPositionEmbeddings);
        if (!qwen) m.put("mlp_bias", mlpBias);
        m.put("model_type", modelType);
        m.put("num_attention_heads", (long) numHeads);
        m.put("num_hidden_layers", (long) numLayers);
        m.put("num_key_value_heads", (long) numKvHeads);
        m.put("rms_norm_eps", rmsNormEps);
        m.set("rope_scaling", ropeJson());
        m.put("rope_theta", rope.theta());
        int window = Arrays.stream(layerWindows).max().orElse(0);
        if (!modelType.equals("llama")) m.set("sliding_window", window == 0 ? NullNode.instance : Json.node(window));
        m.put("tie_word_embeddings", tieWordEmbeddings);
        if (storedDType != null) m.put("torch_dtype", storedDType);
        m.put("use_cache", true);
        m.put("vocab_size", vocabSize);
        return m;
    }

    private JsonNode ropeJson() {
        return switch (rope.type()) {
            case "linear" -> Json.object("factor", rope.factor(), "rope_type", "linear");
            case "llama3" -> Json.object("factor", rope.factor(), "high_freq_factor", rope.highFreqFactor(),
                    "low_freq_factor", rope.lowFreqFactor(), "original_max_position_embeddings", rope.originalMaxPositions(),
                    "rope_type", "llama3");
            default -> NullNode.instance;
        };
    }

    /** Reads {@code dir/config.json} (or the file itself when given a file). */
    public static LlmConfig read(Path dirOrFile) throws IOException {
        Path file = dirOrFile.getFileName().toString().endsWith(".json") ? dirOrFile : dirOrFile.resolve("config.json");
        return parse(Json.readObject(file), file.toString());
    }

    public static LlmConfig parse(JsonNode config, String where) {
        JsonFields f = JsonFields.of(config, where);
        String type = f.string("model_type", null);
        if (type == null) throw new IllegalArgumentException(where + ": no model_type; supported: " + String.join(", ", SUPPORTED_TYPES));
        if (!SUPPORTED_TYPES.contains(type)) {
            throw new IllegalArgumentException(where + ": model_type '" + type + "' is not supported; supported: " + String.join(", ", SUPPORTED_TYPES));
        }
        List<String> warnings = new ArrayList<>();
        String act = f.string("hidden_act", "silu");
        if (!act.equals("silu") && !act.equals("swish")) throw new IllegalArgumentException(where + ": hidden_act '" + act + "' is not supported (only silu)");
        long hidden = f.longInteger("hidden_size");
        int heads = f.integer("num_attention_heads");
        int kvHeads = f.integer("num_key_value_heads", heads);
        long headDim = f.has("head_dim") ? f.longInteger("head_dim") : hidden / heads;
        int layers = f.integer("num_hidden_layers");
        boolean qwen = type.equals("qwen2");
        boolean attnBias = f.bool("attention_bias", false);
        boolean qkvBias = qwen || attnBias;
        boolean oBias = !qwen && attnBias;
        long tp = f.longInteger("pretraining_tp", 1);
        if (tp != 1) warnings.add("pretraining_tp " + tp + " is ignored (it only changes how matmuls are split, not the result)");
        Rope rope = readRope(f, where);
        long[] eos = f.longs("eos_token_id").stream().mapToLong(Long::longValue).toArray();
        return new LlmConfig(type, f.longInteger("vocab_size"), hidden, f.longInteger("intermediate_size"), layers, heads, kvHeads, headDim,
                f.number("rms_norm_eps", 1e-6), rope, qkvBias, oBias, f.bool("mlp_bias", false),
                f.bool("tie_word_embeddings", false), f.optLong("bos_token_id"), eos,
                f.longInteger("max_position_embeddings", 2048), windows(type, f, layers, warnings), f.string("dtype", f.string("torch_dtype", null)),
                warnings);
    }

    /** transformers 5's rope_parameters, else the classic rope_scaling (a non-object there means none). */
    private static Rope readRope(JsonFields f, String where) {
        double theta = f.number("rope_theta", 10000.0);
        JsonFields r = f.get("rope_parameters") instanceof ObjectNode ? f.object("rope_parameters")
                : f.get("rope_scaling") instanceof ObjectNode ? f.object("rope_scaling") : null;
        if (r == null) return Rope.plain(theta);
        if (r.node().valueStream().anyMatch(JsonNode::isObject)) {
            throw new IllegalArgumentException(where + ": per-layer-type RoPE parameters are not supported yet");
        }
        theta = r.number("rope_theta", theta);
        String type = r.string("rope_type", r.string("type", "default")).toLowerCase(Locale.ROOT);
        if (r.number("partial_rotary_factor", 1) != 1) {
            throw new IllegalArgumentException(where + ": partial_rotary_factor != 1 is not supported yet");
        }
        return switch (type) {
            case "default", "none" -> Rope.plain(theta);
            case "linear" -> new Rope("linear", theta, r.number("factor"), 0, 0, 0);
            case "llama3" -> new Rope("llama3", theta, r.number("factor"), r.number("low_freq_factor"), r.number("high_freq_factor"),
                    r.longInteger("original_max_position_embeddings"));
            default -> throw new IllegalArgumentException(where + ": rope type '" + type
                    + "' is not supported yet (supported: default, linear, llama3)");
        };
    }

    /** Which layers use a sliding window, as transformers does for each model type. */
    private static int[] windows(String type, JsonFields f, int layers, List<String> warnings) {
        int[] w = new int[layers];
        if (f.longInteger("sliding_window", 0) <= 0) return w;
        boolean[] sliding = new boolean[layers];
        if (f.get("layer_types") instanceof ArrayNode types && types.size() == layers) {
            for (int i = 0; i < layers; i++) sliding[i] = "sliding_attention".equals(types.get(i).textValue());
        } else if (type.equals("qwen2")) {
            boolean use = f.bool("use_sliding_window", false);
            long maxWindowLayers = f.longInteger("max_window_layers", layers);
            for (int i = 0; i < layers; i++) sliding[i] = use && i >= maxWindowLayers;
        } else {
            Arrays.fill(sliding, true);  // mistral: every layer
        }
        boolean any = false;
        for (boolean s : sliding) any |= s;
        if (!any) return w;
        int window = f.integer("sliding_window");  // read as an int only where it is used, so a huge unused window is no error
        for (int i = 0; i < layers; i++) if (sliding[i]) w[i] = window;
        warnings.add("sliding-window attention (window " + window + ") is applied by an explicit mask: sequences longer than the window use the slower masked attention path");
        return w;
    }
}
