package org.lorascripts.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.lorascripts.config.ConfigAdvisor;
import org.lorascripts.config.ConfigException;
import org.lorascripts.config.ConfigKeyTable;
import org.lorascripts.config.ConfigKeys;
import org.lorascripts.config.ConfigLoader;
import org.lorascripts.config.ConfigPrinter;
import org.lorascripts.config.ConfigWarning;
import org.lorascripts.config.LoadedConfig;
import org.lorascripts.config.StepPlan;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.config.ValueKind;
import org.lorascripts.config.ValueText;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.tasks.sd.SdFamilyDefaults;
import org.lorascripts.data.DatasetException;
import org.lorascripts.dist.DistEnv;
import org.lorascripts.dist.ProcessGroup;
import org.lorascripts.train.DataParallel;
import java.time.Duration;
import org.lorascripts.train.Resume;
import org.lorascripts.train.Trainer;
import org.lorascripts.tasks.Trainers;
import org.lorascripts.track.Trackers;
import org.lorascripts.train.TrainingInterruptedException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./lora train}: loads and validates the config, checks the model inputs it names
 * ({@link ModelInputCheck}), scans the data, prints the plan and warnings, then (unless
 * {@code --dry-run}) hands over to the task's {@link Trainer}. A dry run fails exactly where
 * training could not start.
 * Exit codes: 0 ok, 2 config or data error, 3 no trainer for the task in this build, 1 unexpected,
 * 130 stopped by Ctrl-C (after saving a checkpoint).
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false, usageHelpAutoWidth = true,
        description = "Train a LoRA from a YAML config (image-generation or text-generation).",
        footerHeading = "%nExamples:%n",
        footer = {
            "  ./lora train --config examples/quickstart.yaml --dry-run",
            "      check the config and data, print steps per epoch, change nothing",
            "  ./lora train --config my.yaml --set learning_rate=2e-4 --set batch_size=2",
            "      override keys without editing the file (same type checks as the file)",
            "  ./lora train --config my.yaml --set 'sample_prompts=[a city, a street]'",
            "  ./lora train --config my.yaml --resume latest",
            "  ./lora train --config my_args.toml --dry-run",
            "      kohya sd-scripts' training-argument TOML (and the dataset_config it names)",
            "  ./lora train --list-keys > docs/config-keys.md",
            "  ./lora train --config my.yaml --nproc 2",
            "      data-parallel on 2 worker processes (2 GPUs, or Gloo on the CPU)",
            "",
            "Exit codes: 0 ok, 2 config or data error, 1 unexpected error,",
            "            3 training for the task is not available in this build,",
            "            130 stopped by Ctrl-C (a checkpoint was saved;",
            "            resume with --resume latest)."})
public final class TrainCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML config (flat, or nested *_config: sections), or kohya sd-scripts TOML (training arguments, or a dataset config).")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override a config key; repeatable. Paths are relative to the current folder.")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--dry-run", description = "Validate, print the resolved config, dataset statistics and plan; do not train.")
    boolean dryRun;

    @Option(names = "--resume", paramLabel = "latest|PATH", description = "Continue from the newest checkpoint in output_dir, or from PATH.")
    String resume;

    @Option(names = "--list-keys", description = "Print every config key as a markdown table and exit.")
    boolean listKeys;

    @Option(names = "--nproc", paramLabel = "N", defaultValue = "1",
            description = "Data-parallel training on N worker processes of this machine (one per GPU; Gloo on the CPU); effective batch = batch_size x gradient_accumulation_steps x N.")
    int nproc;

    @Option(names = "--dist-timeout", paramLabel = "SECONDS", defaultValue = "1800",
            description = "Data-parallel runs: how long a rank waits for the others (to join, and at each gradient exchange) before it stops with an error (default: ${DEFAULT-VALUE}).")
    int distTimeout;

    @Option(names = "--dist-bucket-mb", paramLabel = "MIB", defaultValue = "25",
            description = "Data-parallel runs: gradients are summed over the ranks in buckets of at most this many MiB, each sent while backward still runs once its gradients are final (as DDP's bucket_cap_mb; default: ${DEFAULT-VALUE}); 0 sums them all after backward.")
    double distBucketMb;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        try {
            return run(spec.commandLine().getOut(), err);
        } catch (Exception e) {
            return ErrorReporter.report(e, err);
        }
    }

    private int run(PrintWriter out, PrintWriter err) throws Exception {
        if (listKeys) {
            out.print(ConfigKeyTable.markdown());
            out.flush();
            return 0;
        }
        if (config == null) {
            throw new ConfigException("missing --config FILE, e.g. ./lora train --config examples/quickstart.yaml");
        }
        LoadedConfig loaded = ConfigLoader.load(config, overrides);
        // models named org/name on the Hub: fetched into the shared cache, then read like any local path
        List<String> fetched = HubModels.configOverrides(loaded);
        if (!fetched.isEmpty()) {
            List<String> all = new ArrayList<>(overrides);
            all.addAll(fetched);
            loaded = ConfigLoader.load(config, all);
        }
        TrainConfig c = loaded.config();
        Resume from = Resume.parse(resume);
        Optional<DistEnv> dist = DistEnv.from(System.getenv());
        if (nproc < 1) throw new ConfigException("--nproc " + nproc + ": the number of worker processes must be at least 1");
        if (distTimeout < 1) throw new ConfigException("--dist-timeout " + distTimeout + ": the timeout must be at least 1 second");
        if (!(distBucketMb >= 0) || distBucketMb > 1 << 20) {
            throw new ConfigException("--dist-bucket-mb " + distBucketMb + ": the bucket size must be between 0 (sum after backward) and 1048576 MiB");
        }
        if (nproc > 1 && dist.isPresent()) {
            throw new ConfigException("--nproc " + nproc + " inside a launched worker (WORLD_SIZE=" + dist.get().worldSize()
                    + " is set): drop --nproc, or unset WORLD_SIZE to launch the workers from here");
        }
        int world = nproc > 1 ? nproc : dist.map(DistEnv::worldSize).orElse(1);
        if (dryRun) {
            out.println("config: " + config + " (" + c.taskType().configName() + ")");
            ConfigPrinter.print(loaded, out);
            out.println();
        }
        // The model inputs are checked in a dry run and before a real one alike: the same mistakes fail
        // both, and a dry run that passes means training will not stop at them.
        ModelInputCheck.Result inputs = ModelInputCheck.check(loaded);
        // the base model's family settles what the config cannot know (SDXL's bucket range), as the trainer does
        Optional<SdFamily> family = c.isImage() ? SdFamilyDefaults.detect(c) : Optional.empty();
        TrainConfig planned = family.map(f -> SdFamilyDefaults.resolve(c, f)).orElse(c);
        DatasetReport data;
        try {
            data = DatasetReport.scan(planned);
        } catch (DatasetException e) {
            if (inputs.problems().isEmpty()) throw e;
            List<String> all = new ArrayList<>(inputs.problems());
            all.add(e.getMessage());
            throw new ConfigException(all);
        }
        int valExamples = data.valExamples() >= 0 ? data.valExamples() : StepPlan.of(c, data.examples()).valExamples();
        StepPlan plan = StepPlan.ofSplit(c, data.examples() - valExamples, valExamples, world);
        // a worker of --nproc: the launcher printed the report and the warnings already
        boolean launched = System.getenv(WorkerLauncher.LAUNCHER_PID) != null && dist.isPresent();
        if (!launched) {
            data.lines().forEach(out::println);
            printPlan(c, family, plan, from, world, out);
        }

        List<ConfigWarning> warnings = new ArrayList<>(loaded.warnings());
        family.flatMap(f -> SdFamilyDefaults.textEncoderLrWarning(c, f))
                .ifPresent(w -> warnings.add(new ConfigWarning("text_encoder_lr", w)));
        warnings.addAll(inputs.warnings());
        warnings.addAll(data.warnings());
        warnings.addAll(ConfigAdvisor.forDataset(c, data.examples()));
        Trackers.check(c, System.getenv());   // log_with mlflow without a server: one line, before any model loads
        for (String w : Trackers.warnings(c)) warnings.add(new ConfigWarning("log_with", w));
        // a real run loads libtorch next anyway; a dry run does not load it for this
        if (!dryRun && !launched) deviceMemoryWarning(c).ifPresent(w -> warnings.add(new ConfigWarning("batch_size", w)));
        out.flush();
        // each warning names the line of its key (or the --set argument), as errors do
        if (!launched) for (ConfigWarning w : warnings) err.println("warning: " + where(loaded, w) + w.message());
        err.flush();
        if (!inputs.problems().isEmpty()) throw new ConfigException(inputs.problems());

        if (dryRun) {
            out.println("dry run: the config is valid; nothing was trained.");
            out.flush();
            return 0;
        }
        Optional<Trainer> trainer = Trainers.forTask(c.taskType());
        if (trainer.isEmpty()) {
            err.println("error: training for " + c.taskType().configName() + " is not available in this build"
                    + " (no trainer registered); --dry-run still checks the config and data");
            err.flush();
            return ErrorReporter.NOT_AVAILABLE;
        }
        if (nproc > 1) {
            if (!ProcessGroup.available()) {
                throw new ConfigException("--nproc needs the native shim's distributed part (c10d with gloo), which this build lacks:"
                        + " install gloo's headers ('apt-get install libgloo-dev') and run again so the shim is rebuilt");
            }
            out.println("launching " + nproc + " workers (rank 0's output follows; the others write to "
                    + c.output().outputDir().resolve(WorkerLauncher.LOG_DIR) + ")");
            out.flush();
            return WorkerLauncher.launch(nproc, workerArgs(), c.output().outputDir(), out, err);
        }
        try {
            if (dist.isPresent()) {   // also a 1-rank job (torchrun --nproc_per_node 1): the same collectives on one process
                WorkerLauncher.watchLauncher(System.getenv(), err);
                DistEnv env = dist.orElseThrow();
                ProcessGroup.Backend backend = useNccl(c) ? ProcessGroup.Backend.NCCL : ProcessGroup.Backend.GLOO;
                try (ProcessGroup group = ProcessGroup.join(env, backend, Duration.ofSeconds(distTimeout))) {
                    out.println("rank " + env.rank() + " of " + env.worldSize() + " joined (" + backend.nativeName() + ", store "
                            + env.masterAddr() + ":" + env.masterPort() + ")");
                    out.flush();
                    DataParallel dp = new DataParallel(group, (long) Math.ceil(distBucketMb * (1 << 20)));
                    trainer.get().train(c, from, dp);
                    dp.overlapStats().ifPresent(st -> out.println(String.format(Locale.ROOT,
                            "rank %d: gradient sums during backward: %d of %d bucket sums were in flight while backward still ran"
                                    + " (%d bucket%s of at most %s MiB)", env.rank(), st.launchedEarly(),
                            st.launchedInBackward() + st.launchedAfterBackward(), st.buckets(), st.buckets() == 1 ? "" : "s",
                            fmtMb(distBucketMb))));
                }
            } else {
                trainer.get().train(c, from);
            }
        } catch (TrainingInterruptedException e) {
            err.println(e.getMessage());  // the loop already said how to resume
            err.flush();
            return ErrorReporter.INTERRUPTED;
        }
        return 0;
    }

    /** "unet 1e-4, text encoder 5e-5" (SDXL: "TE1 ..., TE2 ..."); the text encoder only when it trains. */
    private static String learningRates(TrainConfig c, Optional<SdFamily> family) {
        TrainConfig.Optimizer o = c.optimizer();
        String s = "unet " + ValueText.format(o.unetLr(), ValueKind.FLOAT);
        if (!c.lora().trainTextEncoder()) return s + " (text encoder frozen)";
        if (family.orElse(null) == SdFamily.SDXL) {
            return s + ", TE1 " + ValueText.format(o.textEncoderLr(1), ValueKind.FLOAT)
                    + ", TE2 " + ValueText.format(o.textEncoderLr(2), ValueKind.FLOAT);
        }
        return s + ", text encoder " + ValueText.format(o.textEncoderLr(), ValueKind.FLOAT);
    }

    /** The memory estimate against the training GPU's memory, when training runs on CUDA and both are known. */
    private static Optional<String> deviceMemoryWarning(TrainConfig c) {
        Optional<org.lorascripts.train.MemoryEstimate> m = org.lorascripts.train.MemoryEstimate.of(c);
        if (m.isEmpty() || c.loop().device().equals("cpu")) return Optional.empty();
        try {
            org.lorascripts.tensor.Device d = org.lorascripts.train.TrainingDevice.resolve(c.loop().device());
            if (!d.isCuda()) return Optional.empty();
            return org.lorascripts.ffi.CudaApi.deviceInfo(d.index()).flatMap(info -> m.get().deviceWarning(c,
                    "GPU " + d.index() + " (" + info.name() + ")", info.totalMemory() / (double) (1L << 30)));
        } catch (RuntimeException | LinkageError e) {
            return Optional.empty();   // no libtorch or no device here: the run itself says so in a moment
        }
    }

    /** "FILE:LINE: " (or "--set ARG: ") of the key a warning is about; the file alone for general advice. */
    private static String where(LoadedConfig loaded, ConfigWarning w) {
        return ConfigKeys.lookup(w.key() == null ? "" : w.key())
                .map(k -> loaded.values().origin(k.name()).toString())
                .orElse(loaded.values().source()) + ": ";
    }

    private static String fmtMb(double mb) {
        return mb == Math.rint(mb) ? Long.toString((long) mb) : Double.toString(mb);
    }

    /** This command's arguments for a worker: the same, less --nproc. */
    private List<String> workerArgs() {
        List<String> all = spec.commandLine().getParseResult().originalArgs();
        List<String> args = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            String a = all.get(i);
            if (a.equals("--nproc")) { i++; continue; }
            if (a.startsWith("--nproc=")) continue;
            args.add(a);
        }
        return args;
    }

    /** NCCL when this rank trains on CUDA and the shim has it; Gloo otherwise. */
    private static boolean useNccl(TrainConfig c) {
        String d = c.loop().device();
        boolean cuda = d.equals("auto") ? org.lorascripts.tensor.Cuda.isAvailable() : d.startsWith("cuda") || d.equals("gpu");
        return cuda && ProcessGroup.ncclAvailable();
    }

    private static void printPlan(TrainConfig c, Optional<SdFamily> family, StepPlan p, Resume from, int world, PrintWriter out) {
        TrainConfig.Loop loop = c.loop();
        out.println("plan:");
        out.println(DatasetReport.row("train examples", p.trainExamples() + " (validation " + p.valExamples()
                + (c.data().valRatio() > 0 ? ", val_ratio " + c.data().valRatio() : "") + ")"));
        String ranks = world > 1 ? " x world_size " + world : "";
        out.println(DatasetReport.row("effective batch", p.effectiveBatchSize() + " (batch_size " + loop.batchSize()
                + " x gradient_accumulation_steps " + loop.gradientAccumulationSteps() + ranks + ")"));
        out.println(DatasetReport.row("steps per epoch", p.stepsPerEpoch() + " = ceil(ceil(" + p.trainExamples()
                + " / " + loop.batchSize() + ") / " + (world > 1 ? "(" + loop.gradientAccumulationSteps() + " x " + world + ")"
                : Integer.toString(loop.gradientAccumulationSteps())) + ")"));
        out.println(DatasetReport.row("epochs", loop.maxSteps() > 0
                ? String.format(java.util.Locale.ROOT, "%.1f (from max_steps)", p.viewsPerExample())
                : Integer.toString(p.epochs())));
        out.println(DatasetReport.row("total steps", p.totalSteps() + (loop.maxSteps() > 0 ? " (max_steps)" : "")));
        if (c.isImage() && c.image().buckets().enabled()) {
            out.println("  (batches form per aspect-ratio bucket, so the trainer may take a few more steps)");
            out.println(DatasetReport.row("bucket range", SdFamilyDefaults.bucketRange(c, family.orElse(SdFamily.SD1))));
        }
        if (c.isImage()) out.println(DatasetReport.row("learning rates", learningRates(c, family)));
        if (!c.isImage() && c.text().packing()) {
            out.println("  (packing joins short examples into max_seq_len sequences, so the trainer takes fewer steps)");
        }
        org.lorascripts.train.MemoryEstimate.of(c).ifPresent(m -> out.println(DatasetReport.row("device memory", m.describe())));
        out.println(DatasetReport.row("output", c.output().outputDir() + " (output_name " + c.output().outputName() + ")"));
        if (!(from instanceof Resume.None)) {
            out.println(DatasetReport.row("resume from", from.path().map(Path::toString).orElse("latest checkpoint in output_dir")));
        }
    }
}
