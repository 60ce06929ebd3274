package org.lorascripts.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.lorascripts.config.MixedPrecision;
import org.lorascripts.lora.LoraNetwork;
import org.lorascripts.lora.LoraSpec;
import org.lorascripts.models.llm.LlamaForCausalLM;
import org.lorascripts.models.llm.LlmConfig;
import org.lorascripts.models.sd.unet.UNet2DConditionModel;
import org.lorascripts.models.sd.unet.UNetConfig;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.nn.RandomWeights;
import org.lorascripts.nn.WeightSource;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.CudaKernel;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Functional;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.GraphedSteps;
import org.lorascripts.train.Precision;
import org.lorascripts.train.TrainingTask;
import org.lorascripts.train.optim.AdamW;
import org.lorascripts.train.optim.GradScaler;

/**
 * Fixed-seed loss curves of our training step, so that "numerics unchanged" is a measurement: the same model (random
 * weights from a seed), the same LoRA, the same data and noise for every step, trained the plain libtorch way, with
 * the run-time CUDA kernels, as CUDA graphs, and once in float32 with the same (16-bit-rounded) weights. How far the
 * float32 curve lies from the plain 16-bit one is what 16-bit arithmetic itself does to the curve: the noise. The fused
 * and graphed curves must lie within it of the plain one, and a later run's curves within it of a committed run's.
 *
 * <p>Curves: {@code llama1b} (the Llama-3.2-1B shape of {@link LlmTrainBenchmark}, seq 2048, rank-16 LoRA on q/k/v/o,
 * bf16, one fixed token sequence learnt over the steps), {@code sd15} (the SD1.5 UNet, 512², batch 2, rank-8 LoRA on the
 * attention layers, fp16 with a loss scale; per step its own noise and timesteps, noised with the scaled-linear
 * schedule, all drawn on the CPU from the step's index), and {@code tiny-llm} / {@code tiny-sd}, small stand-ins that
 * run on the CPU.
 *
 * <p>Modes: {@code plain} (run-time kernels off, eager steps), {@code fused} (kernels on, eager), {@code graphed}
 * (kernels on, the trainer's CUDA-graph step, {@link GraphedSteps}), {@code fp32} (kernels off, no autocast, TF32 off).
 *
 * <p>Usage: {@code LossCurveCheck run curve=llama1b|sd15|tiny-llm|tiny-sd [modes=plain,fused,graphed,fp32] [steps=30]
 * [device=cuda]}: one JSON line per mode with its losses. {@code LossCurveCheck compare FILE [BASELINE]}: one JSON
 * line per curve and mode with its deviation from the plain curve (and from the baseline's same curve and mode) and
 * the noise; exit status 1 when one lies outside the noise.
 */
public final class LossCurveCheck {
    private LossCurveCheck() {}

    static final List<String> MODES = List.of("plain", "fused", "graphed", "fp32");
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) {
        if (args.length == 0) {
            System.err.println("usage: LossCurveCheck run curve=... [modes=...] [steps=N] [device=cuda] | compare FILE [BASELINE]");
            System.exit(2);
        }
        try {
            if (args[0].equals("run")) {
                Map<String, String> kv = keyValues(args);
                String curve = kv.getOrDefault("curve", "llama1b");
                List<String> modes = List.of(kv.getOrDefault("modes", String.join(",", MODES)).split(","));
                int steps = Integer.parseInt(kv.getOrDefault("steps", "30"));
                Device dev = kv.getOrDefault("device", "cuda").equals("cpu") ? Device.CPU : Device.cuda(0);
                for (String m : modes) System.out.println(JSON.writeValueAsString(run(curve, m, steps, dev)));
            } else if (args[0].equals("compare") && (args.length == 2 || args.length == 3)) {
                List<JsonNode> runs = read(Path.of(args[1]));
                List<JsonNode> base = args.length == 3 ? read(Path.of(args[2])) : List.of();
                boolean ok = true;
                for (ObjectNode v : compare(runs, base)) {
                    System.out.println(JSON.writeValueAsString(v));
                    ok &= v.path("ok").asBoolean(true);
                }
                System.exit(ok ? 0 : 1);
            } else {
                System.err.println("error: unknown command " + String.join(" ", args) + " (use run or compare)");
                System.exit(2);
            }
        } catch (IllegalArgumentException | IOException e) {
            System.err.println("error: " + e.getMessage());
            System.exit(2);
        }
    }

    private static Map<String, String> keyValues(String[] args) {
        Map<String, String> kv = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq < 0) throw new IllegalArgumentException(args[i] + ": use key=value");
            kv.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        return kv;
    }

    private static List<JsonNode> read(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (!line.startsWith("{")) continue;
            JsonNode n = JSON.readTree(line);
            if (n.has("losses")) out.add(n);
        }
        if (out.isEmpty()) throw new IllegalArgumentException(file + ": no curve lines (JSON with \"losses\")");
        return out;
    }

    // ---- running a curve ----

    /** The 16-bit weights of {@code inner}, handed out in the dtype asked for: the float32 run starts from the same values. */
    record Rounded(WeightSource inner, DType half) implements WeightSource {
        @Override public Optional<long[]> shape(String name) { return inner.shape(name); }
        @Override public Tensor load(String name, long[] shape, Device device, DType dtype) {
            if (dtype == half) return inner.load(name, shape, device, dtype);
            try (Tensor t = inner.load(name, shape, device, half)) {
                return t.to(dtype);
            }
        }
        @Override public String describe() { return inner.describe() + " rounded to " + half; }
        @Override public boolean synthesizes() { return inner.synthesizes(); }
    }

    /** One curve's model, LoRA and per-step inputs, built for a mode; {@link #lossSum} is the step's loss before the weight. */
    private interface Setup extends AutoCloseable {
        List<Tensor> inputs(int step);
        Tensor lossSum(List<Tensor> in);
        double weight();
        LoraNetwork lora();
        @Override void close();
    }

    /** Runs {@code steps} steps of {@code curve} in {@code mode}; the JSON line has the mode's losses. */
    static ObjectNode run(String curve, String mode, int steps, Device dev) {
        if (!MODES.contains(mode)) throw new IllegalArgumentException("mode " + mode + ": use one of " + MODES);
        boolean fp32 = mode.equals("fp32");
        boolean sd = curve.equals("sd15") || curve.equals("tiny-sd");
        DType half = sd && dev.isCuda() ? DType.F16 : DType.BF16;   // fp16 has no CPU kernels worth using
        DType dt = fp32 ? DType.F32 : half;
        boolean kernelsOff = mode.equals("plain") || fp32;
        if (dev.isCuda()) {
            Cuda.emptyCache();
            Cuda.setTf32(false);
        }
        CudaKernel.setForcedOff(kernelsOff);
        Rng.manualSeed(0);
        List<Double> losses = new ArrayList<>();
        try (Scope scope = Scope.open(); Setup s = sd ? sdSetup(curve, dev, dt, half, steps) : llmSetup(curve, dev, dt, half)) {
            AdamW opt = new AdamW(s.lora().trainableParameters(), 0.9, 0.999, 1e-8, 0.01);
            double lr = 1e-3;
            MixedPrecision mp = fp32 ? MixedPrecision.NO : half == DType.F16 ? MixedPrecision.FP16 : MixedPrecision.BF16;
            Precision precision = Precision.of(mp, dev);
            try (opt; GradScaler scaler = precision.newScaler()) {
                GraphedSteps graphs = null;
                if (mode.equals("graphed")) {
                    String why = GraphedSteps.unsupported(dev, opt);
                    if (why != null) throw new IllegalArgumentException("graphed: " + why);
                    TrainingTask task = new TrainingTask() {
                        @Override public List<NamedParam> trainableParameters() { return s.lora().trainableParameters(); }
                        @Override public int trainSize() { return steps; }
                        @Override public int valSize() { return 0; }
                        @Override public double weight(int[] idx, boolean validation) { return s.weight(); }
                        @Override public Tensor lossSum(int[] idx, boolean validation) { return s.lossSum(s.inputs(idx[0])); }
                        @Override public List<Tensor> stepInputs(int[] idx) { return s.inputs(idx[0]); }
                        @Override public Tensor lossSumFromInputs(List<Tensor> in) { return s.lossSum(in); }
                        @Override public void exportAdapter(Path target, Map<String, String> metadata) { throw new UnsupportedOperationException(); }
                        @Override public String adapterFileName(String outputName) { return outputName; }
                        @Override public void close() {}
                    };
                    graphs = new GraphedSteps(task, precision, opt, scaler, 0, dev, System.err);
                }
                try (GraphedSteps g = graphs) {
                    for (int i = 0; i < steps; i++) {
                        GraphedSteps.Result r = g == null ? null : g.step(List.of(new int[] {i}), s.weight(), lr);
                        losses.add(r != null ? r.lossSum() / s.weight() : eagerStep(s, i, opt, scaler, precision, lr));
                    }
                    if (g != null && g.captured() == 0) throw new IllegalStateException("graphed: no step was captured");
                }
            }
        } finally {
            CudaKernel.setForcedOff(false);
        }
        ObjectNode o = JSON.createObjectNode();
        o.put("curve", curve).put("mode", mode).put("device", deviceName(dev)).put("steps", steps);
        o.put("kernels", !kernelsOff && CudaKernel.unavailableReason().isEmpty() && dev.isCuda());
        ArrayNode a = o.putArray("losses");
        for (double l : losses) a.add(Double.parseDouble(String.format(Locale.ROOT, "%.7g", l)));
        return o;
    }

    private static double eagerStep(Setup s, int i, AdamW opt, GradScaler scaler, Precision precision, double lr) {
        try (Scope sc = Scope.open()) {
            Tensor loss;
            try (Autocast ac = precision.autocast()) {
                loss = s.lossSum(s.inputs(i)).div(s.weight());
            }
            scaler.scale(loss).backward();
            scaler.unscale(opt);
            scaler.step(opt, lr);
            scaler.update();
            opt.zeroGrad();
            return loss.item();
        }
    }

    private static String deviceName(Device dev) {
        if (!dev.isCuda()) return "cpu";
        return Cuda.deviceInfo(dev.index()).map(i -> i.name()).orElse("cuda");
    }

    private static Setup llmSetup(String curve, Device dev, DType dt, DType half) {
        boolean tiny = curve.equals("tiny-llm");
        if (!tiny && !curve.equals("llama1b")) throw new IllegalArgumentException("curve " + curve + ": use llama1b, sd15, tiny-llm or tiny-sd");
        LlmConfig cfg = tiny ? LlmQloraBenchmark.tinyShape(2) : LlmTrainBenchmark.shape("llama3.2-1b");
        int seq = tiny ? 64 : 2048;
        WeightSource w = new Rounded(tiny ? new RandomWeights(0) : new RandomWeights(0).onDevice(), half);
        LlamaForCausalLM model = new LlamaForCausalLM(cfg, w, dev, dt);
        LoraNetwork lora = LoraNetwork.inject(model.loraHosts(),
                n -> List.of("q_proj", "k_proj", "v_proj", "o_proj").contains(n.substring(n.lastIndexOf('.') + 1)), LoraSpec.of(16, 32), dev);
        lora.setTraining(true);
        Rng.manualSeed(1);
        Tensor ids = Torch.randint(0, cfg.vocabSize(), new long[] {1, seq}, Device.CPU).to(dev).keep();
        double weight = LlamaForCausalLM.targetCount(ids);
        return new Setup() {
            @Override public List<Tensor> inputs(int step) { return List.of(ids); }
            @Override public Tensor lossSum(List<Tensor> in) { return model.lossSum(in.get(0), in.get(0)); }
            @Override public double weight() { return weight; }
            @Override public LoraNetwork lora() { return lora; }
            @Override public void close() {
                ids.close();
                lora.close();
                model.close();
            }
        };
    }

    /** A UNet of two levels, 32 and 64 channels: the SD path's every kind of block in a fraction of a second on the CPU. */
    static UNetConfig tinyUnet() {
        return new UNetConfig(4, 4, 8, List.of(32, 64), 1, List.of(2, 2), List.of(UNetConfig.CROSS_DOWN, UNetConfig.DOWN),
                List.of(UNetConfig.UP, UNetConfig.CROSS_UP), 32, 1, false, 8, 1e-5, false, UNetConfig.Prediction.EPSILON);
    }

    private static Setup sdSetup(String curve, Device dev, DType dt, DType half, int steps) {
        boolean tiny = curve.equals("tiny-sd");
        UNetConfig cfg = tiny ? tinyUnet() : UNetConfig.sd15();
        int bs = 2, lat = tiny ? 8 : 64;
        WeightSource w = new Rounded(tiny ? new RandomWeights(0) : new RandomWeights(0).onDevice(), half);
        UNet2DConditionModel unet = UNet2DConditionModel.load(cfg, w, dev, dt);
        LoraNetwork lora = LoraNetwork.inject(unet.loraHosts(), n -> n.contains("attentions."), LoraSpec.of(8, 8), dev);
        lora.setTraining(true);
        // the step's inputs, all drawn on the CPU from fixed seeds: the same in every mode and on every machine
        Rng.manualSeed(1);
        Tensor latents = Torch.randn(new long[] {bs, 4, lat, lat}, DType.F32, Device.CPU).keep();
        Tensor emb = Torch.randn(new long[] {bs, 77, cfg.crossAttentionDim()}, DType.F32, Device.CPU).to(dt, dev).keep();
        double[] alphaBar = scaledLinearAlphaBar(1000);
        List<List<Tensor>> perStep = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            Rng.manualSeed(1000 + i);
            Tensor noise = Torch.randn(latents.shape(), DType.F32, Device.CPU);
            long[] t = new long[bs];
            float[] a = new float[bs], b = new float[bs];
            for (int j = 0; j < bs; j++) {
                t[j] = (i * 389L + j * 631L + 17) % 1000;
                a[j] = (float) Math.sqrt(alphaBar[(int) t[j]]);
                b[j] = (float) Math.sqrt(1 - alphaBar[(int) t[j]]);
            }
            Tensor noisy = latents.mul(Torch.of(a, bs, 1, 1, 1)).add(noise.mul(Torch.of(b, bs, 1, 1, 1)));
            perStep.add(List.of(noisy.to(dt, dev).keep(), Torch.of(t, bs).to(dev).keep(), noise.to(dev).keep(), emb));
            noise.close();
            noisy.close();
        }
        return new Setup() {
            @Override public List<Tensor> inputs(int step) { return perStep.get(step); }
            @Override public Tensor lossSum(List<Tensor> in) {
                Tensor pred = unet.forward(in.get(0), in.get(1), in.get(3));
                return Functional.mseLoss(pred.to(DType.F32), in.get(2), Functional.Reduction.MEAN);
            }
            @Override public double weight() { return 1; }
            @Override public LoraNetwork lora() { return lora; }
            @Override public void close() {
                for (List<Tensor> in : perStep) for (int k = 0; k < 3; k++) in.get(k).close();
                emb.close();
                latents.close();
                lora.close();
                unet.close();
            }
        };
    }

    /** The scaled-linear schedule's cumulative alpha products (betas from 0.00085 to 0.012 over {@code n} steps, as SD1.x trains). */
    static double[] scaledLinearAlphaBar(int n) {
        double[] out = new double[n];
        double lo = Math.sqrt(0.00085), hi = Math.sqrt(0.012), p = 1;
        for (int i = 0; i < n; i++) {
            double s = lo + (hi - lo) * i / (n - 1);
            p *= 1 - s * s;
            out[i] = p;
        }
        return out;
    }

    // ---- comparing curves ----

    /**
     * How far beyond the noise's mean a mode may lie. The noise is one sample (one fp32 curve), and another
     * perturbation of the same size (a reduction order) lands on either side of it: on the first H200 run, SD1.5's
     * fused curve lay at 1.08 times it, the graphed one at 0.80. A change that matters lies far beyond: a tenfold
     * distance, or a curve that stops falling.
     */
    static final double NOISE_FACTOR = 2.0;

    /** Mean and largest relative distance of curve {@code a} from {@code b}, over their common steps. */
    record Deviation(double mean, double max) {}

    static Deviation deviation(JsonNode a, JsonNode b) {
        JsonNode la = a.get("losses"), lb = b.get("losses");
        int n = Math.min(la.size(), lb.size());
        if (n == 0) throw new IllegalArgumentException("empty curve " + a.path("curve").asText() + "/" + a.path("mode").asText());
        double sum = 0, max = 0;
        for (int i = 0; i < n; i++) {
            double x = la.get(i).asDouble(), y = lb.get(i).asDouble();
            double d = !Double.isFinite(x) || !Double.isFinite(y) ? Double.POSITIVE_INFINITY : Math.abs(x - y) / Math.max(Math.abs(y), 1e-12);
            sum += d;
            max = Math.max(max, d);
        }
        return new Deviation(sum / n, max);
    }

    /**
     * For each curve of {@code runs}: each mode's distance from the plain curve, and from {@code baseline}'s same
     * curve and mode where it has one, against the noise (the fp32 curve's distance from the plain one). A mode is ok
     * when its mean distance is at most {@link #NOISE_FACTOR} times the noise's mean (and so for the baseline's).
     * Curves without plain and fp32 lines are reported without a verdict.
     */
    static List<ObjectNode> compare(List<JsonNode> runs, List<JsonNode> baseline) {
        Map<String, Map<String, JsonNode>> byCurve = group(runs), base = group(baseline);
        List<ObjectNode> out = new ArrayList<>();
        for (var e : byCurve.entrySet()) {
            Map<String, JsonNode> modes = e.getValue();
            JsonNode plain = modes.get("plain"), fp32 = modes.get("fp32");
            Deviation noise = plain != null && fp32 != null ? deviation(fp32, plain) : null;
            for (var m : modes.entrySet()) {
                ObjectNode o = JSON.createObjectNode();
                o.put("curve", e.getKey()).put("mode", m.getKey());
                JsonNode losses = m.getValue().get("losses");
                o.put("first_loss", losses.get(0).asDouble()).put("last_loss", losses.get(losses.size() - 1).asDouble());
                boolean ok = true;
                if (noise != null) {
                    o.put("noise_mean", round(noise.mean())).put("noise_max", round(noise.max()));
                    if (!m.getKey().equals("plain") && !m.getKey().equals("fp32")) {
                        Deviation d = deviation(m.getValue(), plain);
                        o.put("vs_plain_mean", round(d.mean())).put("vs_plain_max", round(d.max()));
                        ok &= d.mean() <= NOISE_FACTOR * noise.mean();
                    }
                }
                JsonNode old = base.getOrDefault(e.getKey(), Map.of()).get(m.getKey());
                if (old != null) {
                    Deviation d = deviation(m.getValue(), old);
                    o.put("vs_baseline_mean", round(d.mean())).put("vs_baseline_max", round(d.max()));
                    o.put("baseline_device", old.path("device").asText());
                    if (noise != null) ok &= d.mean() <= NOISE_FACTOR * noise.mean();
                }
                if (noise != null) o.put("ok", ok);
                out.add(o);
            }
        }
        return out;
    }

    private static Map<String, Map<String, JsonNode>> group(List<JsonNode> lines) {
        Map<String, Map<String, JsonNode>> out = new LinkedHashMap<>();
        for (JsonNode n : lines) out.computeIfAbsent(n.path("curve").asText(), k -> new LinkedHashMap<>()).put(n.path("mode").asText(), n);
        return out;
    }

    private static double round(double v) { return Double.isFinite(v) ? Double.parseDouble(String.format(Locale.ROOT, "%.3e", v)) : v; }
}
