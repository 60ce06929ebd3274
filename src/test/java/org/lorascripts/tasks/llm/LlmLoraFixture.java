package org.lorascripts.tasks.llm;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.Resume;
import org.lorascripts.train.StepListener;
import org.lorascripts.train.StopSignal;
import org.lorascripts.train.TrainingLoop;
import org.lorascripts.train.TrainingResult;
import org.lorascripts.train.progress.PlainLineProgress;
import org.lorascripts.models.llm.LlamaForCausalLM;

/**
 * A text LoRA run on builtin:tiny-llama on the CPU: a config over a small data file, the loop with
 * captured console output, and the per-step losses. Tasks are built after seeding torch, as
 * LoopTrainer does, so runs with the same settings start from the same adapter.
 */
final class LlmLoraFixture {
    static final long SEED = 77;

    /** Lines of different lengths, so padding and token weighting matter. */
    static final List<String> LINES = List.of(
            "The quick brown fox jumps over the lazy dog.",
            "Green tea likes water at eighty degrees.",
            "A user asks a question and the assistant gives an answer.",
            "Hello, world!",
            "The capital of France is Paris, and the cat sits on the hat.",
            "Low-rank adapters change only a few weights.",
            "Black tea wants water just off the boil, around ninety five degrees Celsius.",
            "Tea.");

    final Path outputDir;
    final Map<String, Object> settings = new HashMap<>();
    final ByteArrayOutputStream consoleBytes = new ByteArrayOutputStream();
    final PrintStream console = new PrintStream(consoleBytes, true, StandardCharsets.UTF_8);
    final List<double[]> steps = new ArrayList<>();    // {step, loss}
    final List<double[]> vals = new ArrayList<>();     // {step, valLoss}
    long stopAtStep = -1;

    LlmLoraFixture(Path outputDir, Path data) {
        this.outputDir = outputDir;
        settings.put("task_type", "text-generation");
        settings.put("base_model", "builtin:tiny-llama");
        settings.put("train_data_dir", data.toString());
        settings.put("output_dir", outputDir.toString());
        settings.put("device", "cpu");
        settings.put("seed", SEED);
        settings.put("learning_rate", 1e-3);
        settings.put("lora_rank", 4);
        settings.put("lora_alpha", 8);
        settings.put("batch_size", 2);
        settings.put("epochs", 2);
        settings.put("max_seq_len", 64);
        settings.put("log_interval", 1);
        settings.put("save_total_limit", 0);
        settings.put("save_precision", "fp32");
    }

    static Path writeData(Path file, List<String> lines) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.write(file, lines, StandardCharsets.UTF_8);
    }

    LlmLoraFixture set(String key, Object value) {
        settings.put(key, value);
        return this;
    }

    TrainConfig config() { return TrainConfig.of(settings); }

    /** A task built after seeding torch (null dtype: the task's own rule, fp32 on the CPU). */
    LlmLoraTask task(DType dtype) {
        Rng.manualSeed(SEED);
        return new LlmLoraTask(config(), console, dtype);
    }

    LlmLoraTask task() { return task(null); }

    TrainingResult run(LlmLoraTask task, Resume resume) throws Exception { return run(task, resume, Device.CPU); }

    TrainingResult run(LlmLoraTask task, Resume resume, Device device) throws Exception {
        StopSignal stop = new StopSignal(console);
        StepListener listener = new StepListener() {
            @Override public void onStep(long step, double loss, double lr, double gradNorm, boolean applied) {
                steps.add(new double[] {step, loss});
                if (step == stopAtStep) stop.request();
            }

            @Override public void onValidation(long step, double valLoss) { vals.add(new double[] {step, valLoss}); }
        };
        var options = TrainingLoop.Options.defaults().withResume(resume).withStop(stop).withConsole(console).withListener(listener)
                .withProgress((total, interval) -> new PlainLineProgress(total, interval, console, System::nanoTime));
        return new TrainingLoop(config(), task, device, options).run();
    }

    TrainingResult run(LlmLoraTask task) throws Exception { return run(task, new Resume.None()); }

    double[] losses() { return steps.stream().mapToDouble(s -> s[1]).toArray(); }

    String console() { return consoleBytes.toString(StandardCharsets.UTF_8); }

    /** All trainable weights, flattened in parameter order. */
    static double[] weights(LlmLoraTask task) {
        List<Double> all = new ArrayList<>();
        for (var p : task.trainableParameters()) for (double d : p.tensor().toDoubleArray()) all.add(d);
        return all.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Trainable weights by name (order-free, for tasks whose adapters were read from a file). */
    static Map<String, List<Double>> namedWeights(LlmLoraTask task) {
        Map<String, List<Double>> m = new java.util.TreeMap<>();
        for (var p : task.trainableParameters()) m.put(p.name(), java.util.Arrays.stream(p.tensor().toDoubleArray()).boxed().toList());
        return m;
    }

    /** Logits (1, T, V) as fp32 values of a model for some token ids, under no-grad. */
    static float[] logits(LlamaForCausalLM model, long[] ids) {
        try (Scope s = Scope.open(); var ng = Autograd.noGrad()) {
            return model.logits(Torch.of(ids, 1, ids.length), null, null).to(DType.F32).toFloatArray();
        }
    }

    static double maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths " + a.length + " and " + b.length);
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }
}
