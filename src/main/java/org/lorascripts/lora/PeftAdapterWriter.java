package org.lorascripts.lora;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.Json;
import org.lorascripts.io.SafetensorsWriter;
import org.lorascripts.io.TensorIO;
import org.lorascripts.tensor.DType;

/**
 * Saves a {@link LoraNetwork} over an HF causal LM as a PEFT adapter folder, loadable with
 * {@code PeftModel.from_pretrained(base, dir)}: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} with keys {@code base_model.model.<module>.lora_A.weight}
 * (r, in) and {@code ...lora_B.weight} (out, r), the adapter name stripped as
 * {@code get_peft_model_state_dict} does; a DoRA adds {@code ...lora_magnitude_vector} (out) and
 * {@code use_dora: true}. The folder is written atomically.
 * Reference: https://github.com/huggingface/peft/blob/main/src/peft/utils/save_and_load.py
 */
public final class PeftAdapterWriter {
    public static final String CONFIG_FILE = "adapter_config.json";
    public static final String WEIGHTS_FILE = "adapter_model.safetensors";
    /** PeftModel wraps the base model as {@code base_model} (LoraModel), which holds it as {@code model}. */
    public static final String KEY_PREFIX = "base_model.model.";

    private PeftAdapterWriter() {}

    public static String keyA(String module) { return KEY_PREFIX + module + ".lora_A.weight"; }

    public static String keyB(String module) { return KEY_PREFIX + module + ".lora_B.weight"; }

    /** PEFT 0.21 saves the magnitude without a {@code .weight} suffix (save_and_load strips the DoRA layer's name). */
    public static String keyMagnitude(String module) { return KEY_PREFIX + module + ".lora_magnitude_vector"; }

    /** Writes the network with a config derived from it (see {@link #configFor}); weights in {@code dtype}. */
    public static void write(Path dir, LoraNetwork net, String baseModel, double dropout, boolean rsLora, DType dtype) throws IOException {
        write(dir, net, configFor(net, baseModel, dropout, rsLora), dtype);
    }

    public static void write(Path dir, LoraNetwork net, PeftAdapterConfig cfg, DType dtype) throws IOException {
        if (net.size() == 0) throw new IllegalArgumentException("the LoRA network has no adapters to save");
        checkScales(net, cfg);
        for (var e : net.adapters().entrySet()) {
            LoraAdapter.Decomposition d = e.getValue().decomposition();
            if (cfg.useDora() ? d != LoraAdapter.Decomposition.OUTPUT : d != LoraAdapter.Decomposition.NONE) {
                throw new IllegalArgumentException("adapter " + e.getKey() + " is " + (d == LoraAdapter.Decomposition.NONE ? "a plain LoRA" : "a DoRA ("
                        + d + ")") + " but the PEFT config says use_dora " + cfg.useDora() + "; a PEFT adapter is all LoRA or all PEFT-style DoRA");
            }
        }
        org.lorascripts.io.FileTrees.writeDirectory(dir, tmp -> {
            SafetensorsWriter w = new SafetensorsWriter().putMetadata("format", "pt");
            for (var e : net.adapters().entrySet()) {
                TensorIO.add(w, keyA(e.getKey()), e.getValue().down(), dtype);
                TensorIO.add(w, keyB(e.getKey()), e.getValue().up(), dtype);
                if (e.getValue().magnitude() != null) TensorIO.add(w, keyMagnitude(e.getKey()), e.getValue().magnitude(), dtype);
            }
            w.write(tmp.resolve(WEIGHTS_FILE));
            Json.writePrettyFile(tmp.resolve(CONFIG_FILE), cfg.toJson());
        });
    }

    /**
     * r and lora_alpha of the most common (rank, alpha) among the adapters, rank_pattern /
     * alpha_pattern entries (exact module paths) for the others, and target_modules as the
     * adapted modules' short names.
     */
    public static PeftAdapterConfig configFor(LoraNetwork net, String baseModel, double dropout, boolean rsLora) {
        Map<Integer, Integer> rankCount = new HashMap<>();
        Map<Double, Integer> alphaCount = new HashMap<>();
        for (LoraAdapter a : net.adapters().values()) {
            rankCount.merge(a.rank(), 1, Integer::sum);
            alphaCount.merge(a.alpha(), 1, Integer::sum);
        }
        int r = rankCount.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        double alpha = alphaCount.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        Map<String, Integer> ranks = new LinkedHashMap<>();
        Map<String, Double> alphas = new LinkedHashMap<>();
        for (var e : net.adapters().entrySet()) {
            String key = e.getKey().replace(".", "\\.");
            if (e.getValue().rank() != r) ranks.put(key, e.getValue().rank());
            if (e.getValue().alpha() != alpha) alphas.put(key, e.getValue().alpha());
        }
        return new PeftAdapterConfig(r, alpha, dropout, PeftTargets.shortNames(net.adapters().keySet()), null, rsLora, baseModel,
                null, ranks, alphas, net.hasDora());
    }

    /** The scale PEFT will compute from the config must be the one the adapters trained with. */
    private static void checkScales(LoraNetwork net, PeftAdapterConfig cfg) {
        for (var e : net.adapters().entrySet()) {
            double want = cfg.scaleFor(e.getKey()), have = e.getValue().scale();
            if (Math.abs(want - have) > 1e-9 * Math.max(1, Math.abs(have))) {
                throw new IllegalArgumentException("adapter " + e.getKey() + " scales by " + have + " but the PEFT config gives "
                        + want + " (lora_alpha " + cfg.alphaFor(e.getKey()) + ", r " + cfg.rankFor(e.getKey())
                        + (cfg.useRslora() ? ", rsLoRA" : "") + "); check use_rslora");
            }
        }
    }
}
