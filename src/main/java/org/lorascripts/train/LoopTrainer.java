package org.lorascripts.train;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Function;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;

/**
 * A {@link Trainer} made of a task factory and the {@link TrainingLoop}: what a task type registers
 * in {@link Trainers}, e.g.
 * {@code Trainers.register(TaskType.TEXT_GENERATION, () -> new LoopTrainer(LlmLoraTask::new))}.
 * The torch generators are seeded before the task is built, so adapter initialisation is
 * reproducible from {@code seed} too. Ctrl-C is handled while the loop runs; a stop by Ctrl-C
 * ends in {@link TrainingInterruptedException} (the CLI exits 130) after the checkpoint is saved.
 */
public final class LoopTrainer implements Trainer {
    private final Function<TrainConfig, ? extends TrainingTask> taskFactory;
    private final TrainingLoop.Options options;

    public LoopTrainer(Function<TrainConfig, ? extends TrainingTask> taskFactory) {
        this(taskFactory, TrainingLoop.Options.defaults());
    }

    public LoopTrainer(Function<TrainConfig, ? extends TrainingTask> taskFactory, TrainingLoop.Options options) {
        this.taskFactory = Objects.requireNonNull(taskFactory, "taskFactory");
        this.options = options;
    }

    @Override
    public void train(TrainConfig config, Resume resume) throws Exception {
        train(config, resume, GradientSync.NONE);
    }

    @Override
    public void train(TrainConfig config, Resume resume, GradientSync sync) throws Exception {
        TrainingResult result = run(config, resume, sync);
        if (result.interrupted()) {
            throw new TrainingInterruptedException("training stopped by Ctrl-C at step " + result.steps()
                    + "; checkpoint saved in " + result.lastCheckpoint());
        }
    }

    /**
     * A fresh run into an output_dir that holds checkpoints: refused (before any model is loaded), or,
     * with overwrite_output_dir, the earlier run's checkpoints, logs and samples are deleted first.
     */
    static void startAfresh(TrainConfig config) throws java.io.IOException {
        Path out = config.output().outputDir();
        CheckpointStore store = new CheckpointStore(out);
        var existing = store.latest();
        if (existing.isEmpty()) return;
        if (!config.output().overwriteOutputDir()) {
            throw new TrainingException(store.root() + " already holds checkpoints (newest " + existing.get().dir().getFileName()
                    + "); continue them with --resume latest, set another output_dir, or set overwrite_output_dir: true to start afresh");
        }
        for (String sub : new String[] {store.root().getFileName().toString(), RunLog.LOGS, RunLog.SAMPLES}) {
            org.lorascripts.io.FileTrees.deleteTree(out.resolve(sub));
        }
    }

    /** Builds the task, runs the loop with SIGINT handled, and closes the task. */
    public TrainingResult run(TrainConfig config, Resume resume) throws Exception {
        return run(config, resume, GradientSync.NONE);
    }

    /**
     * The same as one rank of a data-parallel job: rank 0 prepares the output folder; with CUDA each rank
     * takes the GPU of its local rank (unless the config names one); ranks other than 0 show no progress bar.
     */
    public TrainingResult run(TrainConfig config, Resume resume, GradientSync sync) throws Exception {
        Device device = TrainingDevice.resolve(config.loop().device());
        String setting = config.loop().device();
        if (sync.exchanges() && device.isCuda() && (setting.equals("auto") || setting.equals("cuda"))) {
            device = Device.cuda(sync.localRank() % org.lorascripts.tensor.Cuda.deviceCount());
        }
        if (sync.isMain()) {
            CheckpointStore.requireWritable(config.output().outputDir());  // before minutes of model loading
            if (resume instanceof Resume.None) startAfresh(config);
        }
        Rng.manualSeed(config.loop().seed());
        StopSignal stop = options.stop();
        TrainingLoop.Options opts = options.withResume(resume);
        if (!sync.isMain()) opts = opts.withProgress((total, interval) -> new org.lorascripts.train.progress.TrainingProgress() {
            @Override public void update(long completedSteps, double loss, double lr) {}
            @Override public void close() {}
        });
        try (TrainingTask task = taskFactory.apply(config)) {
            stop.install();
            try {
                return new TrainingLoop(config, task, device, opts).withGradientSync(sync).run();
            } finally {
                stop.uninstall();
            }
        }
    }
}
