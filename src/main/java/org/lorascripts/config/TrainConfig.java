package org.lorascripts.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a training run needs, fully resolved: defaults applied, paths absolute, derived
 * values filled in ({@code lora_alpha} = rank unless set), legacy {@code use_fp16} folded into
 * {@code mixedPrecision}. Build one with {@link ConfigLoader#load} (from YAML) or
 * {@link #of(Map)} (from code). Keys, defaults and ranges are documented once, in
 * {@link ConfigKeys}; the record groups below only organise them for the trainers.
 */
public record TrainConfig(TaskType taskType, Model model, Lora lora, Optimizer optimizer, Schedule schedule,
                          Loop loop, Data data, ImageData image, TextData text, Output output, Sampling sample,
                          Eval eval, Tracking tracking) {

    /** The base model and where to start the adapter from. */
    public record Model(BaseModel baseModel, Optional<Path> networkWeights, String networkModule,
                        PredictionType predictionType, int clipSkip, int maxTokenLength, ChatTemplate chatTemplate,
                        Optional<Path> ldmConfig, Optional<Path> vae, boolean loadIn4bit, boolean fp8Base,
                        boolean loadIn8bit) {}

    /**
     * Adapter shape. {@code convRank} 0 = no LoCon; {@code useDora}: DoRA (a magnitude vector per adapter).
     * {@code dropout} drops the LoRA's input (PEFT's); {@code networkDropout}, {@code rankDropout} and
     * {@code moduleDropout} are kohya's (on the rank-r hidden, per image and rank, per module and forward).
     */
    public record Lora(int rank, double alpha, double dropout, int convRank, double convAlpha,
                       List<String> targetModules, boolean useRslora, boolean trainTextEncoder, boolean useDora,
                       NetworkType networkType, NetworkArgs networkArgs, double networkDropout, double rankDropout,
                       double moduleDropout) {
        /** Multiplier of the low-rank update: alpha/rank, or alpha/sqrt(rank) with rsLoRA. */
        public double scale() { return useRslora ? alpha / Math.sqrt(rank) : alpha / rank; }
    }

    /**
     * Optimizer settings; the UNet / text-encoder rates default to {@code learningRate}. The adam_*
     * keys serve AdamW; {@code weightDecay} serves every optimizer when {@code weightDecaySet}, else
     * only AdamW (the others take their reference default, 0); {@code args} (optimizer_args)
     * override both. {@code loraPlusLrRatio} (LoRA+) multiplies the rate of every LoRA up matrix;
     * {@code loraPlusUnetLrRatio} / {@code loraPlusTextEncoderLrRatio} replace it for the UNet's / the text
     * encoders' (they read as loraPlusLrRatio when unset, as kohya's {@code ratio_part or ratio}).
     *
     * @param textEncoderLrs text_encoder_lr as written: one rate for every text encoder, or one per
     *                       encoder (SDXL: TE1, TE2), as kohya's {@code --text_encoder_lr} (nargs="*")
     */
    public record Optimizer(OptimizerType type, double learningRate, double unetLr, List<Double> textEncoderLrs,
                            double weightDecay, double beta1, double beta2, double epsilon, double maxGradNorm,
                            boolean weightDecaySet, OptimizerArgs args, double loraPlusLrRatio,
                            double loraPlusUnetLrRatio, double loraPlusTextEncoderLrRatio) {
        public Optimizer {
            java.util.Objects.requireNonNull(args, "args");
            textEncoderLrs = List.copyOf(textEncoderLrs);
            if (textEncoderLrs.isEmpty()) throw new IllegalArgumentException("textEncoderLrs is empty");
        }

        /** The rate of the first (SD 1.x/2.x: the only) text encoder. */
        public double textEncoderLr() { return textEncoderLrs.getFirst(); }

        /**
         * The rate of text encoder {@code encoder} (1 = CLIP ViT-L, 2 = SDXL's OpenCLIP bigG): its own
         * entry of the list, else the first one (kohya's rule: one value serves every encoder).
         */
        public double textEncoderLr(int encoder) {
            if (encoder < 1) throw new IllegalArgumentException("text encoders count from 1, got " + encoder);
            return encoder <= textEncoderLrs.size() ? textEncoderLrs.get(encoder - 1) : textEncoderLrs.getFirst();
        }
    }

    /** Learning-rate schedule. */
    public record Schedule(LrScheduler scheduler, int warmupSteps, int numCycles, double power) {}

    /** Length, batching, precision and runtime of the loop. {@code maxSteps} 0 = use {@code epochs}. */
    public record Loop(int epochs, int maxSteps, int batchSize, int gradientAccumulationSteps,
                       MixedPrecision mixedPrecision, boolean gradientCheckpointing, long seed, String device,
                       int logInterval, double noiseOffset, double minSnrGamma, boolean cudaGraphs, Diffusion diffusion,
                       boolean recomputeAttention) {
        public int effectiveBatchSize() { return batchSize * gradientAccumulationSteps; }
    }

    /**
     * kohya's further noise and loss options of image training (train_util / custom_train_functions): a random
     * strength and a latent-mean term for the noise offset, input-perturbation noise, a timestep range, the
     * v-prediction and debiased-estimation loss weights, and multi-resolution (pyramid) noise.
     */
    public record Diffusion(boolean noiseOffsetRandomStrength, double adaptiveNoiseScale, double ipNoiseGamma,
                            boolean ipNoiseGammaRandomStrength, int minTimestep, int maxTimestep,
                            boolean scaleVPredLossLikeNoisePred, double vPredLikeLoss, boolean debiasedEstimationLoss,
                            int multiresNoiseIterations, double multiresNoiseDiscount) {
        public static final Diffusion NONE = new Diffusion(false, 0, 0, false, 0, 1000, false, 0, false, 0, 0.3);
    }

    /**
     * Where the examples are. {@code valDataDir} and {@code valRatio} > 0 are exclusive. With {@code subsets}
     * (kohya's dataset config) the images are theirs, and {@code trainDataDir} is the folder that holds them
     * all unless set (the place of caches and the dataset's name).
     */
    public record Data(Path trainDataDir, Optional<Path> metadataPath, double valRatio, Optional<Path> valDataDir,
                       Optional<Path> regDataDir, double priorLossWeight, List<Subset> subsets) {
        public Data { subsets = List.copyOf(subsets); }
    }

    /**
     * One image subset of {@code subsets:} (kohya's {@code [[datasets.subsets]]}), every value resolved: a
     * key the subset does not set has the top-level key's value, as kohya's subset falls back to its dataset
     * and {@code [general]}.
     *
     * @param classTokens         the caption of images without one ("" = none: they train uncaptioned)
     * @param keepTokensSeparator "" = none
     * @param metadataFile        a caption file for the subset (metadata.csv / .jsonl, kohya's fine-tuning JSON)
     */
    public record Subset(Path imageDir, int numRepeats, String classTokens, boolean isReg, Optional<Path> metadataFile,
                         String captionExtension, boolean shuffleCaption, int keepTokens, String keepTokensSeparator,
                         double captionDropoutRate, double captionTagDropoutRate, boolean flipAug, boolean randomCrop,
                         Captions captions) {}

    /** kohya's caption text edits: a prefix and a suffix ("" = none), and the secondary separator ("" = none). */
    public record Captions(String prefix, String suffix, String secondarySeparator) {
        public static final Captions NONE = new Captions("", "", "");
    }

    /** Image pipeline: resolution, captions, augmentation, buckets, latent cache. */
    public record ImageData(Resolution resolution, String captionExtension, double captionDropoutRate,
                            boolean shuffleCaption, int keepTokens, boolean flipAug, boolean randomCrop,
                            Buckets buckets, boolean cacheLatents, boolean cacheLatentsToDisk,
                            boolean cacheTextEncoderOutputsToDisk, String keepTokensSeparator, double captionTagDropoutRate,
                            Captions captionEdits) {}

    /**
     * Aspect-ratio bucketing.
     *
     * @param minResoSet whether min_bucket_reso was set by the user (false: a default, possibly fitted
     *                   to the resolution, which a model family may replace by its own: SDXL's)
     * @param maxResoSet the same for max_bucket_reso
     */
    public record Buckets(boolean enabled, int minReso, int maxReso, int resoSteps, boolean noUpscale,
                          boolean minResoSet, boolean maxResoSet) {
        /** Bounds given explicitly (both count as set). */
        public Buckets(boolean enabled, int minReso, int maxReso, int resoSteps, boolean noUpscale) {
            this(enabled, minReso, maxReso, resoSteps, noUpscale, true, true);
        }

        /** The same buckets with another range; the bounds keep their "set by the user" flags. */
        public Buckets withRange(int min, int max) {
            return new Buckets(enabled, min, max, resoSteps, noUpscale, minResoSet, maxResoSet);
        }
    }

    /** Text pipeline. */
    /**
     * Text data: {@code chatTemplateFile} a Jinja chat template used instead of the model's;
     * {@code trainOnInputs} trains on every token, not only the answers.
     */
    /**
     * @param trainData       the text datasets: train_data's list, or train_data_dir alone
     * @param interleaveProbs one probability per dataset, or empty for round-robin
     */
    public record TextData(DataFormat dataFormat, int maxSeqLen, boolean packing, Optional<Path> chatTemplateFile,
                           boolean trainOnInputs, List<Path> trainData, MixStrategy mixStrategy, List<Double> interleaveProbs) {
        public TextData {
            trainData = List.copyOf(trainData);
            interleaveProbs = List.copyOf(interleaveProbs);
        }
    }

    /** Checkpoints. {@code saveSteps} 0 = only at the end; {@code saveTotalLimit} 0 = keep all. */
    public record Output(Path outputDir, String outputName, SavePrecision savePrecision, int saveSteps,
                         int saveEveryNEpochs, int saveTotalLimit, boolean overwriteOutputDir) {}

    /** Preview images (image tasks) or logged completions (text tasks). */
    public record Sampling(List<String> prompts, List<String> evalPrompts, int everyNSteps, SampleSampler sampler,
                           int steps, double cfgScale, long seed, boolean withBase) {}

    /** Validation and early stopping. */
    public record Eval(int evalSteps, int earlyStoppingPatience) {}

    /**
     * Experiment trackers beyond the local logs: {@code logWith} as written (tensorboard, mlflow, wandb, all,
     * none), the experiment ({@code log_tracker_name}, empty: the environment's or the tracker's default) and
     * the run's name.
     */
    public record Tracking(List<String> logWith, Optional<String> experiment, String runName) {
        /** The values log_with / report_to accept. */
        public static final List<String> TRACKERS = List.of("tensorboard", "mlflow", "wandb", "all", "none");

        /** Whether {@code tracker} (mlflow, wandb) was asked for by name or by {@code all}. */
        public boolean wants(String tracker) { return logWith.contains(tracker) || logWith.contains("all"); }

        /** Whether {@code tracker} was named explicitly (not only through {@code all}). */
        public boolean names(String tracker) { return logWith.contains(tracker); }
    }

    /** This config with other bucket settings (a model family's defaults, resolved where the family is known). */
    public TrainConfig withBuckets(Buckets buckets) {
        ImageData i = image;
        var changed = new ImageData(i.resolution(), i.captionExtension(), i.captionDropoutRate(), i.shuffleCaption(),
                i.keepTokens(), i.flipAug(), i.randomCrop(), buckets, i.cacheLatents(), i.cacheLatentsToDisk(), i.cacheTextEncoderOutputsToDisk(),
                i.keepTokensSeparator(), i.captionTagDropoutRate(), i.captionEdits());
        return new TrainConfig(taskType, model, lora, optimizer, schedule, loop, data, changed, text, output, sample, eval, tracking);
    }

    /** True for Stable Diffusion LoRA training. */
    public boolean isImage() { return taskType == TaskType.IMAGE_GENERATION; }

    /**
     * A config from code, with the same parsing and validation as YAML: values may be strings,
     * numbers, booleans or lists; relative paths resolve against the working directory.
     * Example: {@code TrainConfig.of(Map.of("base_model", "builtin:tiny-sd", "train_data_dir", dir))}.
     */
    public static TrainConfig of(Map<String, ?> settings) {
        return ConfigLoader.fromMap(settings, Path.of("").toAbsolutePath()).config();
    }

    /** Builds the records from validated values (see {@link ConfigLoader}). */
    static TrainConfig from(ConfigValues v) {
        var model = new Model((BaseModel) v.get("base_model"), Optional.ofNullable(v.path("network_weights")),
                v.string("network_module"), v.choice("prediction_type", PredictionType.class),
                v.integer("clip_skip"), v.integer("max_token_length"), v.choice("chat_template", ChatTemplate.class), Optional.ofNullable(v.path("ldm_config")),
                Optional.ofNullable(v.path("vae")), v.bool("load_in_4bit") || v.integer("quantization_bit") == 4, v.bool("fp8_base"),
                v.bool("load_in_8bit") || v.integer("quantization_bit") == 8);
        var lora = new Lora(v.integer("lora_rank"), v.number("lora_alpha"), v.number("lora_dropout"),
                v.integer("conv_rank"), v.number("conv_alpha"), v.list("target_modules"), v.bool("use_rslora"),
                v.bool("train_text_encoder"), v.bool("use_dora"), v.choice("network_type", NetworkType.class), NetworkArgs.parse(v.list("network_args")),
                v.number("network_dropout"), v.number("rank_dropout"), v.number("module_dropout"));
        var optimizer = new Optimizer(v.choice("optimizer", OptimizerType.class), v.number("learning_rate"),
                v.number("unet_lr"), v.numbers("text_encoder_lr"), v.number("weight_decay"), v.number("adam_beta1"),
                v.number("adam_beta2"), v.number("adam_epsilon"), v.number("max_grad_norm"), v.isSetByUser("weight_decay"),
                OptimizerArgs.parse(v.choice("optimizer", OptimizerType.class), v.list("optimizer_args")), v.number("loraplus_lr_ratio"),
                v.number("loraplus_unet_lr_ratio"), v.number("loraplus_text_encoder_lr_ratio"));
        var schedule = new Schedule(v.choice("lr_scheduler", LrScheduler.class), v.integer("lr_warmup_steps"),
                v.integer("lr_scheduler_num_cycles"), v.number("lr_scheduler_power"));
        var loop = new Loop(v.integer("epochs"), v.integer("max_steps"), v.integer("batch_size"),
                v.integer("gradient_accumulation_steps"), v.choice("mixed_precision", MixedPrecision.class),
                v.bool("gradient_checkpointing"), v.integer("seed"), v.string("device"), v.integer("log_interval"),
                v.number("noise_offset"), v.number("min_snr_gamma"), v.bool("cuda_graphs"),
                new Diffusion(v.bool("noise_offset_random_strength"), v.number("adaptive_noise_scale"), v.number("ip_noise_gamma"),
                        v.bool("ip_noise_gamma_random_strength"), v.integer("min_timestep"), v.integer("max_timestep"),
                        v.bool("scale_v_pred_loss_like_noise_pred"), v.number("v_pred_like_loss"), v.bool("debiased_estimation_loss"),
                        v.integer("multires_noise_iterations"), v.number("multires_noise_discount")), v.bool("recompute_attention"));
        List<Subset> subsets = subsets(v);
        Path trainDir = v.path("train_data_dir") != null || subsets.isEmpty() ? v.path("train_data_dir") : commonFolder(subsets);
        if (trainDir == null && v.isSet("train_data")) trainDir = trainData(v, null).getFirst();
        var data = new Data(trainDir, Optional.ofNullable(v.path("metadata_path")),
                v.number("val_ratio"), Optional.ofNullable(v.path("val_data_dir")),
                Optional.ofNullable(v.path("reg_data_dir")), v.number("prior_loss_weight"), subsets);
        var buckets = new Buckets(v.bool("enable_bucket"), v.integer("min_bucket_reso"), v.integer("max_bucket_reso"),
                v.integer("bucket_reso_steps"), v.bool("bucket_no_upscale"),
                v.isSetByUser("min_bucket_reso"), v.isSetByUser("max_bucket_reso"));
        var image = new ImageData((Resolution) v.get("resolution"), v.string("caption_extension"),
                v.number("caption_dropout_rate"), v.bool("shuffle_caption"), v.integer("keep_tokens"),
                v.bool("flip_aug"), v.bool("random_crop"), buckets, v.bool("cache_latents"),
                v.bool("cache_latents_to_disk"), v.bool("cache_text_encoder_outputs_to_disk"),
                v.string("keep_tokens_separator") == null ? "" : v.string("keep_tokens_separator"), v.number("caption_tag_dropout_rate"),
                new Captions(orEmpty(v.get("caption_prefix")), orEmpty(v.get("caption_suffix")), orEmpty(v.get("secondary_separator"))));
        var text = new TextData(v.choice("data_format", DataFormat.class), v.integer("max_seq_len"), v.bool("packing"),
                Optional.ofNullable(v.path("chat_template_file")), v.bool("train_on_inputs"), trainData(v, trainDir),
                v.choice("mix_strategy", MixStrategy.class), mixProbabilities(v));
        var output = new Output(v.path("output_dir"), v.string("output_name"),
                v.choice("save_precision", SavePrecision.class), v.integer("save_steps"),
                v.integer("save_every_n_epochs"), v.integer("save_total_limit"), v.bool("overwrite_output_dir"));
        var sample = new Sampling(v.list("sample_prompts"), v.list("eval_prompts"), v.integer("sample_every_n_steps"),
                v.choice("sample_sampler", SampleSampler.class), v.integer("sample_steps"),
                v.number("sample_cfg_scale"), v.integer("sample_seed"),
                v.bool("sample_with_base"));
        var eval = new Eval(v.integer("eval_steps"), v.integer("early_stopping_patience"));
        var tracking = new Tracking(v.list("log_with").stream().map(t -> t.toLowerCase(java.util.Locale.ROOT)).toList(),
                Optional.ofNullable(v.string("log_tracker_name")), v.string("tracker_run_name"));
        return new TrainConfig(v.choice("task_type", TaskType.class), model, lora, optimizer, schedule, loop, data,
                image, text, output, sample, eval, tracking);
    }

    /** The subsets with every unset key resolved to the top-level key of its name (kohya's fallback). */
    @SuppressWarnings("unchecked")
    static List<Subset> subsets(ConfigValues v) {
        List<Subset> out = new java.util.ArrayList<>();
        for (SubsetKeys.Settings s : (List<SubsetKeys.Settings>) v.get("subsets")) {
            java.util.function.Function<String, Object> get = k -> s.has(k) ? s.values().get(k) : v.get(k);
            Object sep = get.apply("keep_tokens_separator");
            out.add(new Subset((Path) s.values().get("image_dir"), (Integer) s.values().getOrDefault("num_repeats", 1),
                    (String) s.values().getOrDefault("class_tokens", ""), (Boolean) s.values().getOrDefault("is_reg", false),
                    Optional.ofNullable((Path) s.values().get("metadata_file")), (String) get.apply("caption_extension"),
                    (Boolean) get.apply("shuffle_caption"), (Integer) get.apply("keep_tokens"), sep == null ? "" : (String) sep,
                    ((Number) get.apply("caption_dropout_rate")).doubleValue(), ((Number) get.apply("caption_tag_dropout_rate")).doubleValue(),
                    (Boolean) get.apply("flip_aug"), (Boolean) get.apply("random_crop"),
                    new Captions(orEmpty(get.apply("caption_prefix")), orEmpty(get.apply("caption_suffix")),
                            orEmpty(get.apply("secondary_separator")))));
        }
        return List.copyOf(out);
    }

    private static String orEmpty(Object text) { return text == null ? "" : (String) text; }

    /** The deepest folder that holds every subset's image_dir. */
    /** train_data's datasets, or train_data_dir as the one dataset (none when neither is set). */
    private static List<Path> trainData(ConfigValues v, Path trainDir) {
        if (v.isSet("train_data")) return dataSources(v).stream().map(DataSource::path).toList();
        return trainDir == null ? List.of() : List.of(trainDir);
    }

    @SuppressWarnings("unchecked")
    static List<DataSource> dataSources(ConfigValues v) { return (List<DataSource>) v.get("train_data"); }

    /**
     * The mix's probabilities: interleave_probs, or train_data's own probability / weight entries
     * (weights divided by their sum), or empty for round-robin.
     */
    static List<Double> mixProbabilities(ConfigValues v) {
        if (v.isSet("interleave_probs")) return v.numbers("interleave_probs");
        if (!v.isSet("train_data") || dataSources(v).stream().anyMatch(s -> s.share() == null)) return List.of();
        List<DataSource> s = dataSources(v);
        boolean weights = s.stream().anyMatch(DataSource::isWeight);
        double sum = weights ? s.stream().mapToDouble(DataSource::share).sum() : 1;
        return s.stream().map(d -> d.share() / sum).toList();
    }

    private static Path commonFolder(List<Subset> subsets) {
        Path common = subsets.getFirst().imageDir().toAbsolutePath().normalize().getParent();
        for (Subset s : subsets) {
            Path d = s.imageDir().toAbsolutePath().normalize();
            while (common != null && !d.startsWith(common)) common = common.getParent();
        }
        return common == null ? subsets.getFirst().imageDir() : common;
    }
}
