package org.lorascripts.train.optim;

import java.util.List;
import org.lorascripts.config.OptimizerArgs;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.nn.NamedParam;

/**
 * The one place the training loop's optimizer is built from the config. Each optimizer starts from
 * the defaults of its reference package; {@code weight_decay} (when set, or always for AdamW) and
 * the adam_* keys (AdamW) come next, and {@code optimizer_args} override everything.
 */
public final class Optimizers {
    private Optimizers() {}

    /** The optimizer {@code config.type()} over {@code params}, with the config's settings. */
    public static Optimizer create(TrainConfig.Optimizer config, List<NamedParam> params) {
        OptimizerArgs a = config.args();
        double wdDefault = config.weightDecaySet() ? config.weightDecay() : 0.0;
        double wd = a.number("weight_decay", wdDefault);
        return switch (config.type()) {
            case ADAMW -> {
                double[] betas = a.pair("betas", config.beta1(), config.beta2());
                yield new AdamW(params, betas[0], betas[1], a.number("eps", config.epsilon()), a.number("weight_decay", config.weightDecay()));
            }
            case ADAMW8BIT -> {
                double[] betas = a.pair("betas", config.beta1(), config.beta2());
                double minSize = a.number("min_8bit_size", AdamW8bit.DEFAULT_MIN_SIZE);
                yield new AdamW8bit(params, betas[0], betas[1], a.number("eps", config.epsilon()),
                        a.number("weight_decay", config.weightDecay()), (long) minSize);
            }
            case LION -> {
                double[] betas = a.pair("betas", 0.9, 0.99);
                yield new Lion(params, betas[0], betas[1], wd);
            }
            case SGD -> new Sgd(params, a.number("momentum", 0), a.number("dampening", 0), wd, a.bool("nesterov", false));
            case SGD_NESTEROV -> new Sgd(params, a.number("momentum", 0.9), a.number("dampening", 0), wd, a.bool("nesterov", true));
            case ADAFACTOR -> {
                double[] eps = a.pair("eps", 1e-30, 1e-3);
                boolean warmupInit = a.bool("warmup_init", false);
                // kohya: warmup_init without relative_step turns relative_step on
                boolean relative = a.bool("relative_step", true) || warmupInit;
                yield new Adafactor(params, eps[0], eps[1], a.number("clip_threshold", 1.0), a.number("decay_rate", -0.8),
                        a.optionalNumber("beta1", null), wd, a.bool("scale_parameter", true), relative, warmupInit);
            }
            case PRODIGY -> {
                double[] betas = a.pair("betas", 0.9, 0.999);
                Double beta3 = a.optionalNumber("beta3", null);
                yield new Prodigy(params, betas[0], betas[1], beta3 == null ? Double.NaN : beta3, a.number("eps", 1e-8), wd,
                        a.bool("decouple", true), a.bool("use_bias_correction", false), a.bool("safeguard_warmup", false),
                        a.number("d0", 1e-6), a.number("d_coef", 1.0), a.number("growth_rate", Double.POSITIVE_INFINITY));
            }
        };
    }

    /** A kohya-style description for the ss_optimizer metadata, e.g. {@code Prodigy(d_coef=2.0)}. */
    public static String describe(TrainConfig.Optimizer config) {
        String cls = switch (config.type()) {
            case ADAMW -> "torch.optim.adamw.AdamW";
            case ADAMW8BIT -> "bitsandbytes.optim.adamw.AdamW8bit";
            case LION -> "lion_pytorch.lion_pytorch.Lion";
            case SGD, SGD_NESTEROV -> "torch.optim.sgd.SGD";
            case ADAFACTOR -> "transformers.optimization.Adafactor";
            case PRODIGY -> "prodigyopt.prodigy.Prodigy";
        };
        StringBuilder b = new StringBuilder(cls).append('(');
        String sep = "";
        if (config.type() == org.lorascripts.config.OptimizerType.SGD_NESTEROV && !config.args().has("nesterov")) {
            b.append("nesterov=True");
            sep = ",";
        }
        for (var e : config.args().values().entrySet()) {
            b.append(sep).append(e.getKey()).append('=').append(py(e.getValue()));
            sep = ",";
        }
        return b.append(')').toString();
    }

    private static String py(Object v) {
        if (v == null) return "None";
        if (v instanceof Boolean bo) return bo ? "True" : "False";
        if (v instanceof List<?> l) return "(" + py(l.get(0)) + ", " + py(l.get(1)) + ")";
        double d = (Double) v;
        return Double.isInfinite(d) ? "inf" : Double.toString(d);
    }
}
