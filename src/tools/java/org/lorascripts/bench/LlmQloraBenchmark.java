package org.lorascripts.bench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.lorascripts.config.MixedPrecision;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.LlmConfig;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.AdamW;

/**
 * QLoRA on our engine: the frozen base's decoder linear layers in 4-bit NF4 with double quantisation
 * ({@code load_in_4bit}, {@link org.lorascripts.nn.Linear4bit}) or, as {@code fp8}, in 8-bit float with per-channel
 * scales ({@code load_in_8bit}), a bf16 LoRA on top, next to the same step with the base in bf16. The PyTorch reference is {@code tools/bench_llm_qlora.py} (transformers + peft + bitsandbytes).
 *
 * <p>Part {@code 8b}: the Llama-3-8B shape of {@link LlmTrainBenchmark} with random weights, seq 2048, batch 1,
 * rank-16 LoRA (alpha 32) on q/k/v/o, bf16 autocast, AdamW, with and without gradient checkpointing, NF4 and bf16:
 * one JSON line per configuration ({@code weights_gib}: allocated after loading; {@code peak_gib}: the peak of the
 * training steps, counted from after loading; plus a {@code cuda_graph: true} line for the trainer's graphed step
 * unless {@code LORA_BENCH_GRAPH=0}).
 *
 * <p>Part {@code 70b}: the Llama-2/3-70B shape in NF4 with only 2 and 4 decoder layers (with checkpointing):
 * weights and training peak are measured for each and fitted with a line in the layer count, which gives the
 * per-layer and the fixed memory (embeddings, lm_head, logits chunk, ...) and the extrapolation to the full 80
 * layers, as one JSON line; it also says how many 70B-shape layers fit a budget (24 GiB).
 *
 * <p>Usage: {@code LlmQloraBenchmark [steps=8] [warmup=3] [parts=8b,70b] [quant=nf4,fp8,bf16] [ckpt=both|on|off]
 * [seq=2048] [device=cuda] [layers=2,4] [budget_gib=24] [tiny=false]}; {@code tiny=true} swaps both shapes for
 * small ones (with the same layer counts), which is how a test runs every code path on the CPU.
 */
public final class LlmQloraBenchmark {
    private LlmQloraBenchmark() {}

    static final Set<String> TARGETS = Set.of("q_proj", "k_proj", "v_proj", "o_proj");
    static final int FULL_70B_LAYERS = 80;
    private static final double GIB = 1L << 30;

    /** What to run; see the class comment for the keys. */
    record Options(int steps, int warmup, Set<String> parts, List<String> quants, List<Boolean> ckpts, int seq,
                   Device device, int[] layers, double budgetGib, boolean tiny) {

        static Options parse(String... args) {
            Map<String, String> kv = new LinkedHashMap<>();
            for (String a : args) {
                int eq = a.indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("argument '" + a + "' is not key=value (keys: " + KEYS + ")");
                String k = a.substring(0, eq).trim(), v = a.substring(eq + 1).trim();
                if (!KEYS.contains(k)) throw new IllegalArgumentException("unknown key '" + k + "' (keys: " + KEYS + ")");
                kv.put(k, v);
            }
            int steps = positive(kv, "steps", "8", 1);
            int warmup = positive(kv, "warmup", "3", 0);
            Set<String> parts = new LinkedHashSet<>(list(kv, "parts", "8b,70b", Set.of("8b", "70b")));
            List<String> quants = list(kv, "quant", "nf4,fp8,bf16", Set.of("nf4", "fp8", "bf16"));
            List<Boolean> ckpts = switch (kv.getOrDefault("ckpt", "both")) {
                case "both" -> List.of(false, true);
                case "on", "true" -> List.of(true);
                case "off", "false" -> List.of(false);
                default -> throw new IllegalArgumentException("ckpt=" + kv.get("ckpt") + ": use both, on or off");
            };
            int seq = positive(kv, "seq", "2048", 2);
            Device device;
            try {
                device = Device.parse(kv.getOrDefault("device", "cuda"));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("device=" + kv.get("device") + ": " + e.getMessage());
            }
            List<String> ls = list(kv, "layers", "2,4", null);
            int[] layers = new int[ls.size()];
            for (int i = 0; i < layers.length; i++) layers[i] = integer("layers", ls.get(i), 1);
            if (layers.length != 2 || layers[0] == layers[1]) {
                throw new IllegalArgumentException("layers=" + kv.get("layers") + ": give two different layer counts, e.g. 2,4");
            }
            double budget;
            try {
                budget = Double.parseDouble(kv.getOrDefault("budget_gib", "24"));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("budget_gib=" + kv.get("budget_gib") + " is not a number");
            }
            String tiny = kv.getOrDefault("tiny", "false");
            if (!tiny.equals("true") && !tiny.equals("false")) throw new IllegalArgumentException("tiny=" + tiny + ": use true or false");
            return new Options(steps, warmup, parts, quants, ckpts, seq, device, layers, budget, tiny.equals("true"));
        }

        private static final List<String> KEYS = List.of("steps", "warmup", "parts", "quant", "ckpt", "seq", "device", "layers",
                "budget_gib", "tiny");

        private static int positive(Map<String, String> kv, String key, String def, int min) {
            return integer(key, kv.getOrDefault(key, def), min);
        }

        private static int integer(String key, String v, int min) {
            try {
                int i = Integer.parseInt(v);
                if (i >= min) return i;
            } catch (NumberFormatException ignored) { /* below */ }
            throw new IllegalArgumentException(key + "=" + v + ": needs a whole number of at least " + min);
        }

        private static List<String> list(Map<String, String> kv, String key, String def, Set<String> allowed) {
            List<String> out = new ArrayList<>();
            for (String s : kv.getOrDefault(key, def).split(",")) {
                String t = s.trim();
                if (t.isEmpty()) continue;
                if (allowed != null && !allowed.contains(t)) {
                    throw new IllegalArgumentException(key + "=" + kv.get(key) + ": '" + t + "' is not one of " + new java.util.TreeSet<>(allowed));
                }
                out.add(t);
            }
            if (out.isEmpty()) throw new IllegalArgumentException(key + " is empty");
            return out;
        }
    }

    /**
     * Memory as a line in the layer count: {@code fixed + perLayer * layers}, through two measurements.
     * NaN in, NaN out (no CUDA memory statistics).
     */
    record LinearFit(double fixed, double perLayer) {
        static LinearFit through(int layersA, double memA, int layersB, double memB) {
            if (layersA == layersB) throw new IllegalArgumentException("two different layer counts are needed, got " + layersA + " twice");
            double per = (memB - memA) / (layersB - layersA);
            return new LinearFit(memA - per * layersA, per);
        }

        double at(int layers) { return fixed + perLayer * layers; }

        /**
         * The largest layer count whose memory stays within {@code budget} (0 when not even one layer fits);
         * -1 when that is unknown: no figures, or memory not growing with the layers.
         */
        int maxLayersWithin(double budget) {
            if (!Double.isFinite(fixed) || !Double.isFinite(perLayer) || perLayer <= 0) return -1;
            // a hair of slack, so a layer count that lands exactly on the budget is not lost to rounding
            double n = Math.floor((budget - fixed) / perLayer + 1e-9);
            return (int) Math.max(0, Math.min(Integer.MAX_VALUE, n));
        }
    }

    /** The Llama-2/3-70B shape (hidden 8192, intermediate 28672, 64 heads, 8 kv heads, vocab 128256) with {@code layers} decoder layers. */
    static LlmConfig shape70b(int layers) {
        return llama(128256, 8192, 28672, layers, 64, 8, 500000.0, false);
    }

    /** Small stand-ins for both shapes ({@code tiny=true}): every code path in a fraction of a second on the CPU. */
    static LlmConfig tinyShape(int layers) {
        return llama(512, 128, 256, layers, 4, 2, 10000.0, false);
    }

    private static LlmConfig llama(long vocab, long hidden, long inter, int layers, int heads, int kvHeads, double theta, boolean tied) {
        return new LlmConfig("llama", vocab, hidden, inter, layers, heads, kvHeads, hidden / heads, 1e-5, LlmConfig.Rope.plain(theta),
                false, false, false, tied, 1L, new long[] {2}, 8192, new int[layers], "bfloat16", List.of());
    }

    /** One measured configuration: GiB after loading, GiB at the training steps' peak (NaN without CUDA statistics). */
    record Measured(double weightsGib, double peakGib, double stepSeconds, double loss) {}

    public static void main(String[] args) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
            return;
        }
        run(o, System.out);
    }

    static void run(Options o, PrintStream out) {
        if (o.parts().contains("8b")) {
            String model = o.tiny() ? "tiny" : "llama3-8b";
            LlmConfig cfg = o.tiny() ? tinyShape(2) : LlmTrainBenchmark.shape("llama3-8b");
            for (String q : o.quants()) {
                for (boolean ckpt : o.ckpts()) {
                    try {
                        measure(o, cfg, model, q, ckpt, out, true);
                    } catch (RuntimeException e) {
                        out.println(errorJson(model, q, ckpt, e));   // the other configurations still run
                    }
                }
            }
        }
        if (o.parts().contains("70b")) {
            String model = o.tiny() ? "tiny" : "llama3-70b";
            int la = o.layers()[0], lb = o.layers()[1];
            try {
                Measured a = measure(o, o.tiny() ? tinyShape(la) : shape70b(la), model + "/" + la + "layers", "nf4", true, null, false);
                Measured b = measure(o, o.tiny() ? tinyShape(lb) : shape70b(lb), model + "/" + lb + "layers", "nf4", true, null, false);
                out.println(extrapolationJson(model, la, a, lb, b, o.seq(), o.budgetGib()));
            } catch (RuntimeException e) {
                out.println(errorJson(model, "nf4", true, e));
            }
        }
    }

    /** A configuration that failed (out of memory, a CUDA error): one line, so the run goes on to the next. */
    static String errorJson(String model, String quant, boolean ckpt, RuntimeException e) {
        var o = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        o.put("impl", "java").put("model", model).put("quant", quant).put("grad_ckpt", ckpt)
                .put("error", e.getClass().getSimpleName() + ": " + String.valueOf(e.getMessage()).strip());
        return o.toString();
    }

    /** The 70B line: both measurements, the fitted lines and the extrapolation to 80 layers. */
    static String extrapolationJson(String model, int la, Measured a, int lb, Measured b, int seq, double budgetGib) {
        LinearFit w = LinearFit.through(la, a.weightsGib(), lb, b.weightsGib());
        LinearFit p = LinearFit.through(la, a.peakGib(), lb, b.peakGib());
        double peak80 = p.at(FULL_70B_LAYERS);
        String within48 = Double.isFinite(peak80) ? String.valueOf(peak80 * GIB <= 48e9) : "null";
        return String.format(Locale.ROOT, "{\"impl\": \"java\", \"model\": \"%s\", \"quant\": \"nf4\", \"grad_ckpt\": true, \"seq\": %d, \"batch\": 1, "
                        + "\"targets\": %d, \"extrapolated_from_layers\": [%d, %d], \"weights_gib_measured\": [%s, %s], \"peak_gib_measured\": [%s, %s], "
                        + "\"per_layer_weights_gib\": %s, \"per_layer_peak_gib\": %s, \"fixed_weights_gib\": %s, \"fixed_gib\": %s, "
                        + "\"extrapolated_weights_gib_80\": %s, \"extrapolated_peak_gib_80\": %s, \"peak_80_within_48gb\": %s, "
                        + "\"budget_gib\": %s, \"layers_within_budget\": %d}",
                model, seq, TARGETS.size(), la, lb, gib(a.weightsGib()), gib(b.weightsGib()), gib(a.peakGib()), gib(b.peakGib()),
                gib4(w.perLayer()), gib4(p.perLayer()), gib(w.fixed()), gib(p.fixed()), gib(w.at(FULL_70B_LAYERS)), gib(peak80), within48,
                gib(budgetGib), p.maxLayersWithin(budgetGib));
    }

    /**
     * Loads {@code cfg} with random weights (NF4 or bf16 base), injects the LoRA, times the steps and, when
     * {@code out} is given, prints the configuration's line (and the graphed step's when {@code graphs}).
     */
    static Measured measure(Options o, LlmConfig cfg, String name, String quant, boolean ckpt, PrintStream out, boolean graphs) {
        Device dev = o.device();
        boolean cuda = dev.isCuda();
        if (cuda) Cuda.emptyCache();
        Rng.manualSeed(0);
        int seq = o.seq();
        RandomWeights source = new RandomWeights(0);
        LlamaForCausalLM.Quantization q = switch (quant) {
            case "nf4" -> LlamaForCausalLM.Quantization.NF4;
            case "fp8" -> LlamaForCausalLM.Quantization.FP8;
            default -> LlamaForCausalLM.Quantization.NONE;
        };
        try (LlamaForCausalLM model = new LlamaForCausalLM(cfg, cuda ? source.onDevice() : source, dev, DType.BF16, q);
             LoraNetwork lora = LoraNetwork.inject(model.loraHosts(), n -> TARGETS.contains(n.substring(n.lastIndexOf('.') + 1)),
                     LoraSpec.of(16, 32), dev);
             AdamW opt = new AdamW(lora.trainableParameters(), 0.9, 0.999, 1e-8, 0.01)) {
            model.setGradientCheckpointing(ckpt);
            lora.setTraining(true);
            double weightsGib = allocatedGib(dev);
            if (cuda) Cuda.resetPeakMemory(dev.index());
            Tensor ids = Torch.randint(0, cfg.vocabSize(), new long[] {1, seq}, dev).keep();
            try {
                double loss = Double.NaN;
                for (int i = 0; i < o.warmup(); i++) loss = step(model, opt, ids, dev);
                if (cuda) Cuda.synchronize(dev.index());
                long t0 = System.nanoTime();
                for (int i = 0; i < o.steps(); i++) loss = step(model, opt, ids, dev);
                if (cuda) Cuda.synchronize(dev.index());
                double sec = (System.nanoTime() - t0) / 1e9 / o.steps();
                double peak = cuda ? Cuda.memory(dev.index()).map(m -> m.peakAllocated() / GIB).orElse(Double.NaN) : Double.NaN;
                Measured r = new Measured(weightsGib, peak, sec, loss);
                String label = String.format(Locale.ROOT, "%s %s ckpt=%s", name, quant, ckpt);
                if (out != null) out.println(json(name, quant, ckpt, seq, false, r, Double.NaN));
                if (out != null && graphs && cuda && GraphedStep.asked()) {
                    double count = LlamaForCausalLM.targetCount(ids);
                    BenchTask task = new BenchTask(lora.trainableParameters(), List.of(ids), x -> model.lossSum(x.get(0), x.get(0)));
                    try {
                        double[] g = GraphedStep.time(dev, task, opt, MixedPrecision.BF16, count, o.warmup(), o.steps());
                        out.println(json(name, quant, ckpt, seq, true, new Measured(weightsGib, g[2], g[0], g[1]), sec / g[0]));
                    } catch (RuntimeException e) {
                        out.println("{\"impl\": \"java\", \"cuda_graph\": \"failed\", \"config\": \"" + label + "\", \"error\": \""
                                + String.valueOf(e.getMessage()).replace('"', '\'').replace('\n', ' ') + "\"}");
                    }
                }
                if (out != null && cuda) StepProfile.profileIfAsked(label, () -> step(model, opt, ids, dev), dev.index(), sec);
                return r;
            } finally {
                ids.close();
            }
        }
    }

    static String json(String model, String quant, boolean ckpt, int seq, boolean graphed, Measured r, double speedup) {
        return String.format(Locale.ROOT, "{\"impl\": \"java\", \"model\": \"%s\", \"quant\": \"%s\", \"grad_ckpt\": %s, \"cuda_graph\": %s, "
                        + "\"seq\": %d, \"batch\": 1, \"targets\": %d, \"tok_s\": %s, \"step_s\": %s, \"peak_gib\": %s, \"weights_gib\": %s, "
                        + "\"loss\": %s%s}",
                model, quant, ckpt, graphed, seq, TARGETS.size(), finite(seq / r.stepSeconds(), "%.0f"), finite(r.stepSeconds(), "%.3f"),
                gib(r.peakGib()), gib(r.weightsGib()), finite(r.loss(), "%.6f"),
                graphed ? ", \"speedup_vs_plain\": " + finite(speedup, "%.3f") : "");
    }

    private static double allocatedGib(Device dev) {
        return dev.isCuda() ? Cuda.memory(dev.index()).map(m -> m.allocated() / GIB).orElse(Double.NaN) : Double.NaN;
    }

    private static String gib(double v) { return finite(v, "%.2f"); }

    private static String gib4(double v) { return finite(v, "%.4f"); }

    /** JSON has no NaN: unknown figures are null. */
    private static String finite(double v, String fmt) { return Double.isFinite(v) ? String.format(Locale.ROOT, fmt, v) : "null"; }

    /** One bf16-autocast LoRA step on {@code ids} (mean token loss, AdamW at 1e-4); returns the loss. */
    static double step(LlamaForCausalLM model, AdamW opt, Tensor ids, Device dev) {
        try (Scope s = Scope.open()) {
            Tensor loss;
            try (Autocast ac = Autocast.enable(dev.type(), DType.BF16)) {
                loss = model.lossSum(ids, ids).div((double) LlamaForCausalLM.targetCount(ids));
            }
            loss.backward();
            opt.step(1e-4);
            opt.zeroGrad();
            return loss.item();
        }
    }
}
