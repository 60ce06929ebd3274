package org.lorascripts.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The optimizers, with the spellings kohya's {@code optimizer_type} uses as aliases (matched
 * without regard to case) and the keys each accepts in {@code optimizer_args}.
 */
public enum OptimizerType implements ConfigChoice {
    ADAMW("adamw", List.of(), args("weight_decay", Arg.NUMBER, "betas", Arg.PAIR, "eps", Arg.NUMBER)),
    /**
     * bitsandbytes' AdamW8bit. PagedAdamW8bit is the same update with its state in unified memory
     * (paged out under GPU memory pressure); here the state stays in device memory.
     */
    ADAMW8BIT("adamw8bit", List.of("paged_adamw8bit", "pagedadamw8bit"),
            args("weight_decay", Arg.NUMBER, "betas", Arg.PAIR, "eps", Arg.NUMBER, "min_8bit_size", Arg.NUMBER)),
    LION("lion", List.of(), args("weight_decay", Arg.NUMBER, "betas", Arg.PAIR)),
    SGD("sgd", List.of(), args("momentum", Arg.NUMBER, "dampening", Arg.NUMBER, "weight_decay", Arg.NUMBER, "nesterov", Arg.BOOL)),
    SGD_NESTEROV("sgd_nesterov", List.of("sgdnesterov"),
            args("momentum", Arg.NUMBER, "dampening", Arg.NUMBER, "weight_decay", Arg.NUMBER, "nesterov", Arg.BOOL)),
    ADAFACTOR("adafactor", List.of(), args("eps", Arg.PAIR, "clip_threshold", Arg.NUMBER, "decay_rate", Arg.NUMBER,
            "beta1", Arg.OPTIONAL_NUMBER, "weight_decay", Arg.NUMBER, "scale_parameter", Arg.BOOL, "relative_step", Arg.BOOL,
            "warmup_init", Arg.BOOL)),
    PRODIGY("prodigy", List.of(), args("betas", Arg.PAIR, "beta3", Arg.OPTIONAL_NUMBER, "eps", Arg.NUMBER,
            "weight_decay", Arg.NUMBER, "decouple", Arg.BOOL, "use_bias_correction", Arg.BOOL, "safeguard_warmup", Arg.BOOL,
            "d0", Arg.NUMBER, "d_coef", Arg.NUMBER, "growth_rate", Arg.NUMBER));

    /** How an {@code optimizer_args} value is written: Python literals, as kohya passes them to the optimizer. */
    public enum Arg {
        /** a number (inf allowed) */
        NUMBER,
        /** True or False */
        BOOL,
        /** two numbers, "0.9,0.99" or "(0.9, 0.99)" */
        PAIR,
        /** a number or None */
        OPTIONAL_NUMBER
    }

    private final String configName;
    private final List<String> aliases;
    private final Map<String, Arg> args;

    OptimizerType(String configName, List<String> aliases, Map<String, Arg> args) {
        this.configName = configName;
        this.aliases = aliases;
        this.args = args;
    }

    private static Map<String, Arg> args(Object... kv) {
        Map<String, Arg> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], (Arg) kv[i + 1]);
        return java.util.Collections.unmodifiableMap(m);
    }

    @Override public String configName() { return configName; }

    @Override public List<String> aliases() { return aliases; }

    /** The keys this optimizer accepts in {@code optimizer_args}, in the order of its reference signature. */
    public Map<String, Arg> args() { return args; }

    /**
     * Why a kohya optimizer name that is not implemented here is refused (one line naming what to use
     * instead), or null when {@code written} is no such name.
     */
    static String notImplemented(String written) {
        String n = written.toLowerCase(Locale.ROOT).replace("_", "").replace("-", "").replace(".", "");
        String base = n.contains("lion") ? "lion" : n.contains("sgd") ? "sgd_nesterov" : "adamw";
        if (n.contains("8bit")) {
            return "8-bit " + (base.equals("adamw") ? "Adam" : base) + " (bitsandbytes) is not implemented; use " + base
                    + " (full precision state)" + (base.equals("adamw") ? "" : " or adamw8bit");
        }
        if (n.startsWith("paged")) return "paged optimizers (bitsandbytes) are not implemented yet; use " + base;
        if (n.startsWith("dadapt")) return "D-Adaptation is not implemented; prodigy is its successor and estimates the step size the same way";
        if (n.equals("adam")) return "plain Adam is not implemented; use adamw (weight_decay: 0 makes it Adam)";
        return null;
    }
}
