package org.lorascripts.train;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.train.progress.PlainLineProgress;

/** Builds configs and runs the loop on the CPU with captured console output and recorded steps. */
final class LoopFixture {
    static final long SEED = 1234;

    final Path outputDir;
    final Map<String, Object> settings = new HashMap<>();
    final ByteArrayOutputStream consoleBytes = new ByteArrayOutputStream();
    final PrintStream console = new PrintStream(consoleBytes, true, StandardCharsets.UTF_8);
    final List<double[]> steps = new ArrayList<>();    // {step, loss, lr, gradNorm}
    final List<double[]> vals = new ArrayList<>();     // {step, valLoss}
    StopSignal stop;
    long stopAtStep = -1;

    LoopFixture(Path outputDir) {
        this.outputDir = outputDir;
        settings.put("base_model", "builtin:tiny-llama");
        settings.put("task_type", "text-generation");
        settings.put("train_data_dir", outputDir.resolveSibling("data").toString());
        settings.put("output_dir", outputDir.toString());
        settings.put("device", "cpu");
        settings.put("seed", SEED);
        settings.put("learning_rate", 0.05);
        settings.put("batch_size", 2);
        settings.put("epochs", 4);
        settings.put("lr_scheduler", "cosine");
        settings.put("lr_warmup_steps", 2);
        settings.put("log_interval", 1);
        settings.put("save_total_limit", 0);
    }

    LoopFixture set(String key, Object value) {
        settings.put(key, value);
        return this;
    }

    TrainConfig config() { return TrainConfig.of(settings); }

    /** A task made after seeding torch, as LoopTrainer does. */
    static ToyLoraTask task(int train, int val, double dropout) {
        Rng.manualSeed(SEED);
        return new ToyLoraTask(train, val, dropout);
    }

    /** Options for one run; each run gets a fresh StopSignal, as each process would. */
    TrainingLoop.Options options(Resume resume) {
        StopSignal stop = new StopSignal(console);
        this.stop = stop;
        StepListener listener = new StepListener() {
            @Override public void onStep(long step, double loss, double lr, double gradNorm, boolean applied) {
                steps.add(new double[] {step, loss, lr, gradNorm});
                if (step == stopAtStep) stop.request();
            }

            @Override public void onValidation(long step, double valLoss) {
                vals.add(new double[] {step, valLoss});
            }
        };
        return TrainingLoop.Options.defaults().withResume(resume).withStop(stop).withConsole(console).withListener(listener)
                .withProgress((total, interval) -> new PlainLineProgress(total, interval, console, System::nanoTime));
    }

    TrainingResult run(TrainingTask task, Resume resume) throws Exception {
        return new TrainingLoop(config(), task, Device.CPU, options(resume)).run();
    }

    TrainingResult run(TrainingTask task) throws Exception { return run(task, new Resume.None()); }

    String console() { return consoleBytes.toString(StandardCharsets.UTF_8); }

    double[] losses() { return steps.stream().mapToDouble(s -> s[1]).toArray(); }
}
