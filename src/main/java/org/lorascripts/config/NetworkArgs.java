package org.lorascripts.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code network_args} as kohya's sd-scripts passes them to the network module (here LyCORIS's
 * {@code lycoris.kohya}): {@code key=value} strings. Parsed once when the config loads; {@link #raw}
 * keeps them in order for the file's {@code ss_network_args} metadata.
 *
 * <p>Understood: {@code algo} (lora, locon, loha, lokr), {@code conv_dim}, {@code conv_alpha},
 * {@code factor} (LoKr), {@code decompose_both} and {@code full_matrix} (LoKr), {@code dora_wd} (sets
 * {@code use_dora}; the magnitude is kept per input channel, LyCORIS's {@code wd_on_output=False}, the form WebUI applies),
 * {@code dropout} (LyCORIS's spelling of {@code network_dropout}), {@code rank_dropout} and {@code module_dropout}
 * (kohya's networks.lora and LyCORIS read them here; they set the keys of the same names). {@link #UNIMPLEMENTED}
 * are LyCORIS arguments this trainer accepts but does not apply (a warning names them); any other
 * key is listed as unknown in a warning (sd-scripts passes it on, LyCORIS ignores it).
 */
public record NetworkArgs(Map<String, String> raw, String algo, Integer convDim, Double convAlpha, int factor,
                          boolean decomposeBoth, boolean fullMatrix, Boolean doraWd, Double dropout, Double rankDropout,
                          Double moduleDropout) {
    public static final NetworkArgs NONE = new NetworkArgs(Map.of(), null, null, null, -1, false, false, null, null, null, null);

    /** LyCORIS's own arguments (lycoris/kohya.py create_network) that this trainer does not implement. */
    public static final Set<String> UNIMPLEMENTED = Set.of("preset", "use_tucker", "use_cp",
            "use_conv_cp", "disable_conv_cp", "use_scalar", "train_norm", "constraint", "rescaled", "wd_on_output",
            "bypass_mode", "rs_lora", "unbalanced_factorization", "block_size", "rank_dropout_scale", "train_t5xxl",
            "loraplus_lr_ratio", "loraplus_unet_lr_ratio", "loraplus_text_encoder_lr_ratio");

    /** The arguments this trainer applies, in the order warnings list them. */
    public static final List<String> UNDERSTOOD = List.of("algo", "conv_dim", "conv_alpha", "factor", "decompose_both", "full_matrix",
            "dora_wd", "dropout", "rank_dropout", "module_dropout");

    /** Every LyCORIS argument this class knows, implemented or not (a kohya import keeps them in network_args). */
    public static final Set<String> LYCORIS_KEYS;
    static {
        Set<String> all = new java.util.HashSet<>(UNDERSTOOD);
        all.addAll(UNIMPLEMENTED);
        LYCORIS_KEYS = Set.copyOf(all);
    }

    public NetworkArgs {
        raw = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
    }

    /** One-line {@link IllegalArgumentException} for a malformed entry, a key given twice or a bad value. */
    public static NetworkArgs parse(List<String> entries) {
        Map<String, String> raw = new LinkedHashMap<>();
        for (String entry : entries) {
            int eq = entry.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("network_args entry '" + entry + "' is not key=value (e.g. \"algo=loha\")");
            String key = entry.substring(0, eq).strip();
            String value = entry.substring(eq + 1).strip();
            if (raw.containsKey(key)) throw new IllegalArgumentException("network_args: '" + key + "' is given twice");
            raw.put(key, value);
        }
        String algo = null;
        if (raw.containsKey("algo")) {
            algo = raw.get("algo").toLowerCase(Locale.ROOT);
            if (!List.of("lora", "locon", "loha", "lokr").contains(algo)) {
                throw new IllegalArgumentException("network_args: algo=" + raw.get("algo") + " is not supported; this trainer trains"
                        + " algo=lora (or locon), loha and lokr");
            }
        }
        Integer convDim = raw.containsKey("conv_dim") ? integer("conv_dim", raw.get("conv_dim"), 0, 1024) : null;
        Double convAlpha = null;
        if (raw.containsKey("conv_alpha")) {
            try {
                convAlpha = Double.parseDouble(raw.get("conv_alpha"));
            } catch (NumberFormatException e) {
                convAlpha = Double.NaN;
            }
            if (!(convAlpha > 0) || convAlpha.isInfinite()) {
                throw new IllegalArgumentException("network_args: conv_alpha must be a positive number, got '" + raw.get("conv_alpha") + "'");
            }
        }
        int factor = raw.containsKey("factor") ? integer("factor", raw.get("factor"), -1, 1 << 20) : -1;
        if (factor == 0) throw new IllegalArgumentException("network_args: factor must be -1 (balanced) or a positive integer, got 0");
        return new NetworkArgs(raw, algo, convDim, convAlpha, factor, bool("decompose_both", raw.get("decompose_both")),
                bool("full_matrix", raw.get("full_matrix")), raw.containsKey("dora_wd") ? bool("dora_wd", raw.get("dora_wd")) : null,
                probability("dropout", raw.get("dropout")), probability("rank_dropout", raw.get("rank_dropout")),
                probability("module_dropout", raw.get("module_dropout")));
    }

    /** The network type {@code algo} asks for, or null when it is not given (lora and locon are both plain LoRA). */
    public NetworkType networkType() {
        if (algo == null) return null;
        return switch (algo) {
            case "loha" -> NetworkType.LOHA;
            case "lokr" -> NetworkType.LOKR;
            default -> NetworkType.LORA;
        };
    }

    /** Given LyCORIS arguments that are not implemented here, in the order given. */
    public List<String> unimplemented() {
        List<String> r = new ArrayList<>();
        for (String k : raw.keySet()) if (UNIMPLEMENTED.contains(k)) r.add(k);
        return r;
    }

    /** Given keys that are neither understood nor known LyCORIS arguments. */
    public List<String> unknown() {
        List<String> r = new ArrayList<>();
        for (String k : raw.keySet()) if (!UNDERSTOOD.contains(k) && !UNIMPLEMENTED.contains(k)) r.add(k);
        return r;
    }

    private static int integer(String key, String text, int min, int max) {
        try {
            int n = Integer.parseInt(text);
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("network_args: " + key + " must be an integer from " + min + " to " + max + ", got '" + text + "'");
    }

    /** A dropout probability in [0, 1) (Python's None or an empty value: not given), or null when absent. */
    private static Double probability(String key, String text) {
        if (text == null || text.isEmpty() || text.equals("None")) return null;
        try {
            double p = Double.parseDouble(text);
            if (p >= 0 && p < 1) return p;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("network_args: " + key + " must be a number from 0 to below 1, got '" + text + "'");
    }

    private static boolean bool(String key, String text) {
        if (text == null) return false;
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "true", "1" -> true;
            case "false", "0" -> false;
            default -> throw new IllegalArgumentException("network_args: " + key + " must be True or False, got '" + text + "'");
        };
    }
}
