package org.lorascripts.train;

import org.lorascripts.io.FileTrees;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiFunction;
import org.lorascripts.config.StepPlan;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.track.Tracker;
import org.lorascripts.track.Trackers;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.tensor.Autocast;
import org.lorascripts.tensor.Autograd;
import org.lorascripts.tensor.Cuda;
import org.lorascripts.tensor.DType;
import org.lorascripts.tensor.Device;
import org.lorascripts.tensor.Rng;
import org.lorascripts.tensor.Scope;
import org.lorascripts.tensor.Tensor;
import org.lorascripts.tensor.Torch;
import org.lorascripts.train.optim.Optimizer;
import org.lorascripts.train.optim.Optimizers;
import org.lorascripts.train.optim.GradClipping;
import org.lorascripts.train.optim.GradScaler;
import org.lorascripts.nn.NamedParam;
import org.lorascripts.train.progress.EtaFormat;
import org.lorascripts.train.progress.TrainingProgress;
import org.lorascripts.train.schedule.LrSchedule;
import org.lorascripts.train.schedule.LrSchedules;

/**
 * The model-agnostic training loop: data order, gradient accumulation, mixed precision, AdamW with
 * the lr schedule, clipping, validation and early stopping, checkpoints and resume, logs, Ctrl-C.
 * The model side is a {@link TrainingTask}.
 *
 * <p>One optimizer step: the micro-batches of the accumulation window are chosen first
 * ({@link EpochOrder}), W = Σ weight over them, and each micro-batch runs backward on lossSum / W,
 * so accumulation gives the update of one big batch. Then (fp16) unscale, clip to max_grad_norm
 * (the norm is computed and logged also when clipping is off), AdamW with lr(step). A step whose
 * gradients hold inf/nan is skipped and counted.
 *
 * <p>Events after step s (1-based): validation every eval_steps (0 = at each epoch end) and at the
 * last step; samples every sample_every_n_steps and at the end; a checkpoint every save_steps,
 * every save_every_n_epochs epochs, at a new best validation loss (so the best is always on disk),
 * at the end, on early stopping and on Ctrl-C.
 *
 * <p>Logs: train scalars every log_interval steps, at the last step and at an early stop;
 * train/loss is the mean over the steps since the previous row ({@link LossWindow}). Logs are
 * flushed before each checkpoint; a resumed run hides what was logged after its checkpoint
 * ({@link RunLog}).
 */
public final class TrainingLoop {
    /**
     * How a run is driven beyond its config.
     *
     * @param resume   where to continue from
     * @param stop     Ctrl-C state (installed by the caller, or triggered through {@link StopSignal#request()})
     * @param console  where progress and messages go
     * @param listener per-step observer
     * @param progress makes the progress display from (total steps, log interval)
     */
    public record Options(Resume resume, StopSignal stop, PrintStream console, StepListener listener,
                          BiFunction<Long, Integer, TrainingProgress> progress,
                          BiFunction<TrainConfig, PrintStream, Tracker> trackers) {
        public static Options defaults() {
            return new Options(new Resume.None(), new StopSignal(System.out), System.out, StepListener.NONE,
                    (total, interval) -> TrainingProgress.forStdout(total, interval),
                    (config, console) -> Trackers.open(config, System.getenv(), console));
        }

        public Options withResume(Resume r) { return new Options(r, stop, console, listener, progress, trackers); }

        public Options withStop(StopSignal s) { return new Options(resume, s, console, listener, progress, trackers); }

        public Options withConsole(PrintStream c) { return new Options(resume, stop, c, listener, progress, trackers); }

        public Options withListener(StepListener l) { return new Options(resume, stop, console, l, progress, trackers); }

        public Options withProgress(BiFunction<Long, Integer, TrainingProgress> p) {
            return new Options(resume, stop, console, listener, p, trackers);
        }

        /** The experiment trackers of a run (log_with), made from its config and the console. */
        public Options withTrackers(BiFunction<TrainConfig, PrintStream, Tracker> t) {
            return new Options(resume, stop, console, listener, progress, t);
        }
    }

    private final TrainConfig config;
    private final TrainingTask task;
    private final Device device;
    private final Options options;
    private final PrintStream console;
    private final Path outputDir;
    private final CheckpointStore store;
    private final Precision precision;
    private GradientSync sync = GradientSync.NONE;  // data-parallel ranks (GradientSync); NONE = one process

    public TrainingLoop(TrainConfig config, TrainingTask task, Device device, Options options) {
        this.config = config;
        this.task = task;
        this.device = device;
        this.options = options;
        this.console = options.console();
        this.outputDir = config.output().outputDir();
        this.store = new CheckpointStore(outputDir);
        this.precision = Precision.of(config.loop().mixedPrecision(), device);
        String note = Precision.fallbackNote(config.loop().mixedPrecision(), device);
        if (note != null) console.println(note);
    }

    /** Runs as one rank of a data-parallel job (see {@link GradientSync}); the default is one process. */
    public TrainingLoop withGradientSync(GradientSync s) {
        this.sync = s;
        return this;
    }

    /** The per-run state that checkpoints carry, and the objects the steps share. */
    private final class Run {
        final List<NamedParam> params;
        final Optimizer optimizer;
        final GradScaler scaler;
        final EpochOrder order;
        final ResumeKeys keys;
        final String adapterFile;
        long totalSteps;
        long step;
        long skipped;
        double lastLoss = Double.NaN;
        EarlyStopping early;
        RunLog log;                       // opened once the resume step is known
        LossWindow window = new LossWindow(LossWindow.Saved.EMPTY);
        GraphedSteps graphs;              // null: every step runs without a CUDA graph
        TrainingResult.LoggedLoss lastLogged;

        Run(List<NamedParam> params, Optimizer optimizer, GradScaler scaler, EpochOrder order, ResumeKeys keys) {
            this.params = params;
            this.optimizer = optimizer;
            this.scaler = scaler;
            this.order = order;
            this.keys = keys;
            this.adapterFile = task.adapterFileName(config.output().outputName());
        }

        TrainerState state() {
            return new TrainerState(step, order.epochOf(step), order.stepInEpoch(step), config.loop().seed(), totalSteps,
                    early.best(), early.bestStep(), early.badEvaluations(), scaler.scaleValue(), skipped, lastLoss,
                    window.saved(), adapterFile, keys);
        }
    }

    public TrainingResult run() throws IOException {
        CheckpointStore.requireWritable(outputDir);
        int strays = sync.isMain() ? store.removeStrayTemps() : 0;
        if (strays > 0) console.println("removed " + strays + " unfinished checkpoint folder(s) in " + store.root());
        int trainSize = task.trainSize();
        int valSize = task.valSize();
        if (trainSize < 1) throw new TrainingException("the training split is empty; add examples to train_data_dir");
        List<NamedParam> params = task.trainableParameters();
        if (params.isEmpty()) throw new IllegalStateException("the task has no trainable parameters");
        for (NamedParam p : params) {
            if (!p.tensor().requiresGrad()) throw new IllegalStateException("trainable parameter '" + p.name() + "' does not require grad");
        }
        TrainConfig.Loop loop = config.loop();
        TrainConfig.Optimizer opt = config.optimizer();
        boolean taskOrders = task.epochBatches(0, loop.batchSize()) != null;
        EpochOrder order = new EpochOrder(trainSize, loop.batchSize(), loop.gradientAccumulationSteps() * sync.worldSize(), loop.seed(),
                taskOrders ? epoch -> task.epochBatches(epoch, loop.batchSize()) : null);
        try (Optimizer optimizer = Optimizers.create(opt, params);
             GradScaler scaler = precision.newScaler()) {
            Run run = new Run(params, optimizer, scaler, order, ResumeKeys.of(config, trainSize, valSize, sync.worldSize()));
            // the task's own batches (per bucket) may be more than ceil(examples / batch_size) per epoch
            run.totalSteps = loop.maxSteps() > 0 || !taskOrders
                    ? StepPlan.ofSplit(config, trainSize, valSize, sync.worldSize()).totalSteps()
                    : (long) order.stepsPerEpoch() * loop.epochs();
            start(run);
            sync.start(run.optimizer.paramTensors(), loop.seed(), run.step);  // all ranks from rank 0's LoRA
            run.graphs = graphedSteps(optimizer, scaler);
            Tracker tracker = sync.isMain() ? options.trackers().apply(config, console) : Tracker.NONE;
            Tracker.Status status = Tracker.Status.FAILED;
            try {
                TrainingResult result;
                try (RunLog log = sync.isMain() ? RunLog.open(outputDir, run.step, tracker) : RunLog.discarding()) {
                    run.log = log;
                    result = train(run);
                }
                status = result.interrupted() ? Tracker.Status.KILLED : Tracker.Status.FINISHED;
                return result;
            } finally {
                tracker.finish(status);   // after the logs' last row; bounded wait
                if (run.graphs != null) run.graphs.close();
            }
        }
    }

    /** The CUDA-graph runner when cuda_graphs is on and this run can use it (one line says why not). */
    private GraphedSteps graphedSteps(Optimizer optimizer, GradScaler scaler) {
        if (!config.loop().cudaGraphs() || !device.isCuda()) return null;
        String why = sync.exchanges() ? "data-parallel ranks sum gradients between backward and the optimizer"  // GradientSync
                : GraphedSteps.unsupported(device, optimizer);
        if (why != null) {
            console.println("cuda_graphs: off for this run: " + why + "; steps run without graphs");
            return null;
        }
        return new GraphedSteps(task, precision, optimizer, scaler, config.optimizer().maxGradNorm(), device, console);
    }

    /** Seeds a fresh run, or restores a checkpoint; refuses to mix a fresh run into old checkpoints. */
    private void start(Run run) throws IOException {
        int patience = config.eval().earlyStoppingPatience();
        if (options.resume() instanceof Resume.None) {
            var existing = store.latest();
            if (existing.isPresent() && sync.isMain()) {
                throw new TrainingException(store.root() + " already holds checkpoints (newest " + existing.get().dir().getFileName()
                        + "); continue them with --resume latest, set another output_dir, or set overwrite_output_dir: true to start afresh");
            }
            Rng.manualSeed(config.loop().seed());
            run.early = EarlyStopping.fresh(patience);
            return;
        }
        Path dir = store.resolve(options.resume());
        TrainerState saved = TrainerState.read(dir.resolve(TrainerState.FILE_NAME));
        run.keys.requireSameAs(saved.resumeKeys(), dir.toString());
        if (saved.step() >= run.totalSteps) {
            throw new TrainingException("--resume " + dir + ": that checkpoint has already trained " + saved.step()
                    + " of the " + run.totalSteps + " planned steps; raise epochs or max_steps to train further");
        }
        TrainingSnapshot.restore(dir.resolve(CheckpointStore.STATE_TENSORS), run.params, run.optimizer, run.scaler, device, console);
        run.step = saved.step();
        run.skipped = saved.skippedSteps();
        run.lastLoss = saved.lastLoss();
        run.window = new LossWindow(saved.logWindow());
        run.early = new EarlyStopping(patience, saved.bestValLoss(), saved.bestStep(), saved.badEvaluations());
        console.println("resuming from " + dir + " at step " + saved.step() + " of " + run.totalSteps
                + (saved.totalSteps() != run.totalSteps ? " (was " + saved.totalSteps() + " planned)" : ""));
    }

    private TrainingResult train(Run run) throws IOException {
        TrainConfig.Loop loop = config.loop();
        TrainConfig.Optimizer opt = config.optimizer();
        TrainConfig.Schedule sch = config.schedule();
        // A warm-up longer than the run (a quick test with max_train_steps) is cut to the run, as the
        // config warning says, rather than refused: the schedule then peaks at the last step.
        LrSchedule schedule = LrSchedules.create(sch.scheduler().configName(), opt.learningRate(),
                (int) Math.min(sch.warmupSteps(), run.totalSteps), run.totalSteps, sch.numCycles(), sch.power());
        int stepsPerEpoch = run.order.stepsPerEpoch();
        int evalSteps = config.eval().evalSteps();
        int sampleEvery = config.sample().everyNSteps();
        TrainConfig.Output out = config.output();
        run.log.text("config", ConfigMarkdown.of(config), run.step);
        run.log.params(ConfigMarkdown.params(config));

        long started = System.nanoTime();
        long firstStep = run.step;
        IntervalStats interval = new IntervalStats(System.nanoTime());
        Path lastCheckpoint = null;
        boolean interrupted = false;
        boolean stoppedEarly = false;
        long sampledAt = -1;
        try (TrainingProgress progress = options.progress().apply(run.totalSteps, loop.logInterval())) {
            while (run.step < run.totalSteps) {
                double lr = schedule.lr(run.step);
                StepResult r = optimizerStep(run, lr);
                run.step++;
                run.lastLoss = r.loss();
                if (!r.applied()) run.skipped++;
                options.listener().onStep(run.step, r.loss(), lr, r.gradNorm(), r.applied());
                progress.update(run.step, r.loss(), lr);
                interval.add(r.examples());
                run.window.add(r.loss());
                boolean last = run.step == run.totalSteps;
                boolean logged = run.step % loop.logInterval() == 0 || last;
                if (logged) logTrainScalars(run, interval, lr, r.gradNorm());
                interrupted = sync.anyRank(options.stop().isRequested()) && !last;  // at the last step, simply finish

                boolean epochEnd = run.step % stepsPerEpoch == 0;
                boolean improved = false;
                if (task.valSize() > 0 && (last || (evalSteps > 0 ? run.step % evalSteps == 0 : epochEnd))) {
                    double val = ValidationPass.run(task, precision, device, loop.seed(), loop.batchSize());
                    improved = run.early.record(val, run.step);
                    logValidation(run, val);
                }
                if (sampleEvery > 0 && run.step % sampleEvery == 0 && !interrupted) {
                    sample(run);
                    sampledAt = run.step;
                }
                boolean stopEarly = run.early.shouldStop();
                // the steps since the last row would otherwise never be logged
                if (stopEarly && !logged) logTrainScalars(run, interval, lr, r.gradNorm());
                run.log.endStep();
                boolean save = (out.saveSteps() > 0 && run.step % out.saveSteps() == 0)
                        || (out.saveEveryNEpochs() > 0 && epochEnd && (run.step / stepsPerEpoch) % out.saveEveryNEpochs() == 0)
                        || improved || last || stopEarly || interrupted;
                if (save) lastCheckpoint = saveCheckpoint(run);
                if (stopEarly) {
                    stoppedEarly = true;
                    console.println("early stopping at step " + run.step + ": validation loss has not improved for "
                            + run.early.badEvaluations() + " evaluations (best " + fmt(run.early.best()) + " at step " + run.early.bestStep() + ")");
                    break;
                }
                if (interrupted) break;
            }
        }
        if (interrupted) {
            console.println("stopped at step " + run.step + " of " + run.totalSteps + "; checkpoint: " + lastCheckpoint);
            console.println("resume with: ./lora train --config <your config> --resume latest");
            console.flush();
            return new TrainingResult(run.step, run.totalSteps, true, false, run.lastLoss, run.lastLogged, run.early.best(),
                    run.early.bestStep(), null, null, lastCheckpoint);
        }
        if (sampledAt != run.step) sample(run);
        Path adapter = outputDir.resolve(run.adapterFile);
        exportFinal(run, adapter);
        run.log.artifact(adapter);
        Path best = exportBest(run);
        double seconds = (System.nanoTime() - started) / 1e9;
        TrainingResult result = new TrainingResult(run.step, run.totalSteps, false, stoppedEarly, run.lastLoss, run.lastLogged,
                run.early.best(), run.early.bestStep(), adapter, best, lastCheckpoint);
        console.println(String.format(Locale.ROOT, "done: %d steps (%d this run) in %s; adapter: %s",
                run.step, run.step - firstStep, EtaFormat.seconds(seconds), adapter));
        console.println(result.lossSummary());
        console.println(stateSummary(run));
        if (run.early.hasBest()) {
            console.println("best val loss " + fmt(run.early.best()) + " at step " + run.early.bestStep() + " (" + best + ")");
        }
        for (String line : task.summary()) console.println(line);
        console.flush();
        return result;
    }

    private record StepResult(double loss, double gradNorm, boolean applied, int examples) {}

    /** "optimizer state: 1.2 MiB for 300,000 parameters (4.1 bytes each)": what an 8-bit optimizer saves shows here. */
    private static String stateSummary(Run run) {
        long n = 0;
        for (NamedParam p : run.params) n += p.tensor().numel();
        long bytes = run.optimizer.stateBytes();
        return String.format(Locale.ROOT, "optimizer state: %.2f MiB for %,d parameters (%.2f bytes each)",
                bytes / (1024.0 * 1024.0), n, n == 0 ? 0.0 : (double) bytes / n);
    }

    /** One optimizer step over the accumulation window of global step {@code run.step}. */
    private StepResult optimizerStep(Run run, double lr) {
        List<int[]> micro = run.order.microBatches(run.step);
        double weight = 0;
        int examples = 0;
        for (int[] mb : micro) {
            weight += task.weight(mb, false);
            examples += mb.length;
        }
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new IllegalStateException("step " + (run.step + 1) + ": the task weighted its " + examples
                    + " examples " + weight + "; a weight must be > 0 (e.g. at least one target token)");
        }
        task.setEpoch(run.order.epochOf(run.step));
        if (run.step + 1 < run.totalSteps) task.prefetch(sync.shard(run.order.microBatches(run.step + 1)), run.order.epochOf(run.step + 1));
        if (run.graphs != null) {
            GraphedSteps.Result g = run.graphs.step(micro, weight, lr);
            if (g != null) return new StepResult(g.lossSum() / weight, g.gradNorm(), g.applied(), examples);
        }
        run.optimizer.zeroGrad();
        double lossSum;
        try (Scope s = Scope.open()) {
            Tensor total = Torch.zeros(new long[0], DType.F64, device);
            List<int[]> mine = sync.shard(micro);  // this rank's micro-batches; weight is the global step's
            for (int k = 0; k < mine.size(); k++) {
                try (Scope ms = Scope.open()) {
                    Tensor loss;
                    try (Autocast ac = precision.autocast()) {
                        loss = task.lossSum(mine.get(k), false);
                    }
                    if (k == mine.size() - 1) sync.beforeLastBackward();  // data parallel: sums start during this backward
                    run.scaler.scale(loss.div(weight)).backward();
                    total.add_(loss.detach().to(DType.F64));
                }
            }
            lossSum = total.item();
        }
        lossSum = sync.reduce(run.optimizer.paramTensors(), lossSum);  // data parallel: sum gradients over ranks
        run.scaler.unscale(run.optimizer);
        double maxNorm = config.optimizer().maxGradNorm();
        double gradNorm = GradClipping.clipGradNorm(run.optimizer.paramTensors(), maxNorm > 0 ? maxNorm : Double.POSITIVE_INFINITY);
        boolean applied;
        if (run.scaler.isEnabled()) {
            applied = run.scaler.step(run.optimizer, lr);
            run.scaler.update();
        } else if (Double.isFinite(gradNorm)) {
            run.optimizer.step(lr);
            applied = true;
        } else {
            applied = false;  // an inf/nan update would destroy the weights; skip it as the fp16 scaler would
        }
        run.optimizer.zeroGrad();  // gradients are not needed until the next step; free them for validation
        return new StepResult(lossSum / weight, gradNorm, applied, examples);
    }

    private void sample(Run run) {
        if (!sync.isMain()) return;
        long step = run.step;
        RngStates.withSeed(device, config.sample().seed(), () -> {
            try (Autograd.GradMode g = Autograd.noGrad()) {
                task.sample(step, run.log.samples(step));
            }
        });
    }

    private void logTrainScalars(Run run, IntervalStats interval, double lr, double gradNorm) {
        Map<String, Double> m = new LinkedHashMap<>();
        long now = System.nanoTime();
        int steps = run.window.steps();
        double mean = run.window.mean();
        m.put("train/loss", mean);
        m.put("train/lr", lr);
        m.put("train/grad_norm", gradNorm);
        if (run.scaler.isEnabled()) m.put("train/loss_scale", run.scaler.scaleValue());
        m.put("train/skipped_steps", (double) run.skipped);
        m.put("perf/steps_per_sec", interval.stepsPerSecond(now));
        m.put("perf/samples_per_sec", interval.examplesPerSecond(now));
        if (device.isCuda()) {
            Cuda.memory(device.index()).ifPresent(mem -> m.put("perf/device_memory_gib", mem.peakAllocated() / (double) (1L << 30)));
            Cuda.resetPeakMemory(device.index());
        }
        // A mean over other than log_interval steps says so, where a script can see it.
        int logInterval = config.loop().logInterval();
        Map<String, Object> notes = new LinkedHashMap<>();
        if (steps != logInterval) notes.put("train/loss_steps", steps);
        if (steps < logInterval) notes.put("partial", true);
        run.log.scalars(run.step, m, notes);
        run.lastLogged = new TrainingResult.LoggedLoss(mean, run.step - steps + 1, run.step);
        run.window.reset();
        interval.reset(now);
    }

    private void logValidation(Run run, double val) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("val/loss", val);
        if (task.reportsPerplexity()) m.put("val/perplexity", Math.exp(val));
        run.log.scalars(run.step, m);
        options.listener().onValidation(run.step, val);
    }

    private Map<String, String> adapterMetadata(Run run) {
        Map<String, String> m = new LinkedHashMap<>(task.trainingMetadata());
        m.put("training_step", Long.toString(run.step));
        m.put("training_total_steps", Long.toString(run.totalSteps));
        return m;
    }

    private Path saveCheckpoint(Run run) throws IOException {
        if (!sync.isMain()) return null;
        run.log.flush();  // the logs of the steps this checkpoint holds are not lost by a kill after it
        TrainerState state = run.state();
        Map<String, String> metadata = adapterMetadata(run);
        Path dir = store.save(run.step, tmp -> {
            task.exportAdapter(tmp.resolve(run.adapterFile), metadata);
            TrainingSnapshot.write(tmp.resolve(CheckpointStore.STATE_TENSORS), run.params, run.optimizer, run.scaler, device);
            AtomicFileWriter.write(tmp.resolve(TrainerState.FILE_NAME), state.toJson());
        });
        try {
            store.prune(config.output().saveTotalLimit(), run.early.bestStep());
        } catch (IOException e) {
            // an old checkpoint that could not be deleted costs disk space, not correctness
            console.println("warning: could not delete an old checkpoint in " + store.root() + ": " + FileTrees.describe(e));
        }
        return dir;
    }

    private void exportFinal(Run run, Path adapter) {
        if (!sync.isMain()) return;
        try {
            task.exportAdapter(adapter, adapterMetadata(run));
        } catch (IOException e) {
            throw new TrainingException("could not write the adapter " + adapter + ": " + FileTrees.describe(e)
                    + "; the same weights are in the last checkpoint, " + store.dirOf(run.step), e);
        }
    }

    /** Copies the best checkpoint's adapter to {@code <output_name>-best}; null without validation. */
    private Path exportBest(Run run) {
        if (!run.early.hasBest() || !sync.isMain()) return null;
        Path source = store.dirOf(run.early.bestStep()).resolve(run.adapterFile);
        Path target = outputDir.resolve(task.adapterFileName(config.output().outputName() + "-best"));
        if (!Files.exists(source)) {
            console.println("warning: the best checkpoint's adapter " + source + " is gone; " + target + " was not written");
            return null;
        }
        try {
            FileTrees.copyAtomically(source, target);
        } catch (IOException e) {
            throw new TrainingException("could not write the best adapter " + target + ": " + FileTrees.describe(e)
                    + "; it is also in " + source.getParent(), e);
        }
        return target;
    }

    private static String fmt(double v) { return String.format(Locale.ROOT, "%.4g", v); }

    /**
     * Throughput since the last logged step, or since this process started, whichever is later: unlike
     * the loss window it is not carried across a resume, as the time in between is not training time.
     */
    private static final class IntervalStats {
        private long since;
        private int steps;
        private long examples;

        IntervalStats(long now) { since = now; }

        void add(int n) {
            steps++;
            examples += n;
        }

        double stepsPerSecond(long now) { return rate(steps, now); }

        double examplesPerSecond(long now) { return rate(examples, now); }

        private double rate(double count, long now) {
            double s = (now - since) / 1e9;
            return s > 0 ? count / s : Double.NaN;
        }

        void reset(long now) {
            since = now;
            steps = 0;
            examples = 0;
        }
    }
}
