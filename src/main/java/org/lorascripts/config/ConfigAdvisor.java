package org.lorascripts.config;

import java.util.ArrayList;
import java.util.List;

/**
 * Warnings for legal but doubtful settings, from the usual LoRA troubleshooting advice.
 * {@link #forConfig} needs only the config; {@link #forDataset} also needs the number of
 * training examples (the CLI calls it after scanning the data).
 */
public final class ConfigAdvisor {
    static final double DEFAULT_LR = 1e-4;
    private static final String TYPICAL_LR = "1e-4..3e-4 is typical for image LoRA, 5e-5..1e-4 for text";

    private ConfigAdvisor() {}

    public static List<ConfigWarning> forConfig(TrainConfig c, ConfigValues v) {
        List<ConfigWarning> w = new ArrayList<>();
        for (String key : v.setKeys()) {
            ConfigKey k = ConfigKeys.get(key);
            if (!k.scope().appliesTo(c.taskType())) {
                w.add(new ConfigWarning(key, v.written(key) + " applies to " + (k.scope() == TaskScope.IMAGE
                        ? "image-generation" : "text-generation") + " only; ignored for this "
                        + c.taskType().configName() + " config"));
            }
        }
        double lr = c.optimizer().learningRate();
        OptimizerType opt = c.optimizer().type();
        OptimizerArgs args = c.optimizer().args();
        String typical = opt == OptimizerType.LION ? "Lion wants 3-10x less than AdamW; 1e-5..5e-5 is typical" : TYPICAL_LR;
        if (opt == OptimizerType.PRODIGY) {
            if (lr < 0.1 || lr > 10) {
                w.add(new ConfigWarning("learning_rate", "learning_rate " + NumberText.format(lr) + " with prodigy: prodigy estimates"
                        + " the step size itself and learning_rate only scales it; use about 1.0"));
            }
        } else if (opt == OptimizerType.ADAFACTOR && (args.bool("relative_step", true) || args.bool("warmup_init", false))) {
            if (v.isSetByUser("learning_rate")) {
                w.add(new ConfigWarning("learning_rate", "adafactor with relative_step (its default) sets its own step size;"
                        + " learning_rate and lr_scheduler are ignored (optimizer_args [\"relative_step=False\"] uses them)"));
            }
        } else if (lr < (opt == OptimizerType.LION ? 1e-6 : 1e-5)) {
            w.add(new ConfigWarning("learning_rate", "learning_rate " + NumberText.format(lr)
                    + " is very low: training will barely move; " + typical));
        } else if (lr > (opt == OptimizerType.LION ? 3e-4 : 1e-3) && !(c.model().baseModel() instanceof BaseModel.Builtin)) {
            // the built-in demo models are a few million parameters and train well at 1e-3..3e-3
            w.add(new ConfigWarning("learning_rate", "learning_rate " + NumberText.format(lr)
                    + " is likely to diverge (loss goes NaN, outputs turn to noise); " + typical));
        }
        TrainConfig.Lora lora = c.lora();
        if (!lora.useRslora() && lora.alpha() > 2.0 * lora.rank()) {
            w.add(new ConfigWarning("lora_alpha", "lora_alpha " + NumberText.format(lora.alpha()) + " is more than 2x lora_rank "
                    + lora.rank() + ": updates are scaled by alpha/rank = " + NumberText.format(lora.scale())
                    + ", which often overshoots; alpha = rank (or rank/2) is typical"));
        }
        int batch = c.loop().effectiveBatchSize();
        if (batch > 1 && !v.isSet("learning_rate")) {
            w.add(new ConfigWarning("learning_rate", "effective batch size " + batch + " with the default learning_rate 1e-4"
                    + " (tuned for batch 1): larger batches usually take a larger rate, e.g. "
                    + NumberText.format(round2(DEFAULT_LR * Math.sqrt(batch))) + " (sqrt scaling) to "
                    + NumberText.format(DEFAULT_LR * batch) + " (linear); set learning_rate explicitly"));
        }
        String device = c.loop().device();
        if (device.equals("cpu") && c.loop().mixedPrecision() == MixedPrecision.FP16) {
            w.add(new ConfigWarning("mixed_precision", "mixed_precision fp16 is not supported on device cpu;"
                    + " training will run in fp32 (use bf16 or no on CPU)"));
        }
        if (c.loop().gradientCheckpointing() && c.loop().batchSize() == 1 && c.model().baseModel() instanceof BaseModel.Builtin) {
            w.add(new ConfigWarning("gradient_checkpointing", "gradient_checkpointing costs ~30% speed and the builtin"
                    + " tiny models fit in memory at batch_size 1; it is only needed for large models"));
        }
        if (c.loop().gradientCheckpointing() && c.loop().recomputeAttention() && !c.isImage()) {
            w.add(new ConfigWarning("recompute_attention", "recompute_attention has no effect with gradient_checkpointing: true"
                    + " (every layer runs again in backward there); set one of them"));
        }
        if (c.isImage()) imageWarnings(c, v, w);
        otherWarnings(c, v, w);
        return w;
    }

    private static void imageWarnings(TrainConfig c, ConfigValues v, List<ConfigWarning> w) {
        Resolution r = c.image().resolution();
        if (r.width() % 64 != 0 || r.height() % 64 != 0) {
            w.add(new ConfigWarning("resolution", "resolution " + r + " is not a multiple of 64; SD models train best"
                    + " at multiples of 64 (e.g. 512 or 768)"));
        }
        boolean captionsChange = c.image().captionDropoutRate() > 0 || c.image().shuffleCaption() || c.image().captionTagDropoutRate() > 0
                || c.data().subsets().stream().anyMatch(s -> s.captionDropoutRate() > 0 || s.shuffleCaption() || s.captionTagDropoutRate() > 0);
        if (c.image().cacheTextEncoderOutputsToDisk() && (c.lora().trainTextEncoder() || captionsChange)) {
            w.add(new ConfigWarning("cache_text_encoder_outputs_to_disk", "cache_text_encoder_outputs_to_disk has no effect while "
                    + (c.lora().trainTextEncoder() ? "train_text_encoder is true (the outputs change as the encoders train)"
                       : "captions change from step to step (caption_dropout_rate, shuffle_caption)")));
        }
        boolean separatorActs = c.data().subsets().isEmpty()
                ? c.image().shuffleCaption() || c.image().captionTagDropoutRate() > 0
                : c.data().subsets().stream().anyMatch(s -> !s.keepTokensSeparator().isEmpty() && (s.shuffleCaption() || s.captionTagDropoutRate() > 0));
        if (v.isSet("keep_tokens_separator") && !separatorActs) {
            w.add(new ConfigWarning("keep_tokens_separator", "keep_tokens_separator acts only with shuffle_caption or"
                    + " caption_tag_dropout_rate; without them captions train as written, the separator included (as in kohya)"));
        }
        if (v.isSet("text_encoder_lr") && !c.lora().trainTextEncoder()) {
            w.add(new ConfigWarning("text_encoder_lr", "text_encoder_lr has no effect while train_text_encoder is false"));
        }
        if (v.isSet("conv_alpha") && c.lora().convRank() == 0) {
            w.add(new ConfigWarning("conv_alpha", "conv_alpha has no effect while conv_rank is 0 (LoCon off)"));
        }
        String module = c.model().networkModule();
        if (!module.equals("networks.lora") && !module.equals("lycoris.kohya")) {
            w.add(new ConfigWarning("network_module", "network_module '" + module + "' is informational: "
                    + c.lora().networkType().configName() + " is trained (network_type chooses lora, loha or lokr)"));
        }
        NetworkArgs na = c.lora().networkArgs();
        if (!na.unimplemented().isEmpty()) {
            w.add(new ConfigWarning("network_args", "network_args " + String.join(", ", na.unimplemented())
                    + (na.unimplemented().size() == 1 ? " is a LyCORIS argument" : " are LyCORIS arguments")
                    + " this trainer does not implement; ignored"));
        }
        if (!na.unknown().isEmpty()) {
            w.add(new ConfigWarning("network_args", "network_args has unknown keys " + String.join(", ", na.unknown())
                    + "; ignored (understood: " + String.join(", ", NetworkArgs.UNDERSTOOD) + ")"));
        }
        if (c.lora().networkType() != NetworkType.LOKR && (na.raw().containsKey("factor") || na.decomposeBoth() || na.fullMatrix())) {
            w.add(new ConfigWarning("network_args", "network_args factor, decompose_both and full_matrix apply to network_type lokr only; ignored"));
        }
        if (c.lora().networkType() != NetworkType.LORA && c.lora().dropout() > 0) {
            w.add(new ConfigWarning("lora_dropout", "lora_dropout is not applied to network_type " + c.lora().networkType().configName()
                    + " (LyCORIS's LoHa and LoKr have no dropout either)"));
        }
        var d = c.loop().diffusion();
        if (c.loop().noiseOffset() == 0 && (d.noiseOffsetRandomStrength() || d.adaptiveNoiseScale() != 0)) {
            w.add(new ConfigWarning(d.noiseOffsetRandomStrength() ? "noise_offset_random_strength" : "adaptive_noise_scale",
                    "noise_offset_random_strength and adaptive_noise_scale change noise_offset, which is 0 (off); no effect"));
        }
        if (d.ipNoiseGamma() == 0 && d.ipNoiseGammaRandomStrength()) {
            w.add(new ConfigWarning("ip_noise_gamma_random_strength", "ip_noise_gamma_random_strength has no effect while ip_noise_gamma is 0"));
        }
        List<String> kohya = new ArrayList<>();
        if (c.lora().networkDropout() > 0) kohya.add("network_dropout");
        if (c.lora().rankDropout() > 0) kohya.add("rank_dropout");
        if (c.lora().moduleDropout() > 0) kohya.add("module_dropout");
        if (!kohya.isEmpty() && (c.lora().networkType() != NetworkType.LORA || c.lora().useDora())) {
            w.add(new ConfigWarning(kohya.get(0), String.join(", ", kohya) + (kohya.size() == 1 ? " is" : " are")
                    + " applied to plain LoRA and LoCon only, not to " + (c.lora().useDora() ? "DoRA" : "network_type "
                    + c.lora().networkType().configName()) + "; ignored"));
        }
    }

    private static void otherWarnings(TrainConfig c, ConfigValues v, List<ConfigWarning> w) {
        LrScheduler s = c.schedule().scheduler();
        if (s == LrScheduler.CONSTANT && c.schedule().warmupSteps() > 0) {
            w.add(new ConfigWarning("lr_warmup_steps", "lr_warmup_steps has no effect with lr_scheduler constant;"
                    + " use constant_with_warmup"));
        }
        if (c.eval().earlyStoppingPatience() > 0 && c.data().valRatio() == 0 && c.data().valDataDir().isEmpty()) {
            w.add(new ConfigWarning("early_stopping_patience", "early_stopping_patience needs validation data;"
                    + " set val_ratio (e.g. 0.1) or val_data_dir"));
        }
        List<String> prompts = c.isImage() ? c.sample().prompts() : c.sample().evalPrompts();
        if (c.sample().everyNSteps() > 0 && prompts.isEmpty()) {
            w.add(new ConfigWarning("sample_every_n_steps", "sample_every_n_steps is set but there are no "
                    + (c.isImage() ? "sample_prompts" : "eval_prompts") + "; nothing will be sampled"));
        }
    }

    /**
     * Warnings that depend on how many examples the dataset has: a high rank on little data,
     * far more epochs than the usual guidance, warmup longer than the run, batches larger than
     * the dataset.
     */
    public static List<ConfigWarning> forDataset(TrainConfig c, int examples) {
        List<ConfigWarning> w = new ArrayList<>();
        StepPlan plan = StepPlan.of(c, examples);
        int n = plan.trainExamples();
        if (n == 0) return w;
        String unit = c.isImage() ? "images" : "examples";
        if (c.lora().rank() > 32 && n < 100) {
            w.add(new ConfigWarning("lora_rank", "lora_rank " + c.lora().rank() + " is high for " + n + " training "
                    + unit + ": it overfits small datasets; 4-16 is typical below ~100 " + unit));
        }
        int[] guide = guidanceEpochs(c.taskType(), n);
        double views = plan.viewsPerExample();
        if (views > 3.0 * guide[1]) {
            w.add(new ConfigWarning("epochs", String.format(java.util.Locale.ROOT,
                    "each training example would be seen ~%.0f times, but %d-%d epochs is typical for %d %s;"
                            + " expect overfitting (outputs copy the training data): lower epochs or max_steps",
                    views, guide[0], guide[1], n, unit)));
        }
        if (c.schedule().warmupSteps() > 0 && c.schedule().warmupSteps() >= plan.totalSteps()) {
            w.add(new ConfigWarning("lr_warmup_steps", "lr_warmup_steps " + c.schedule().warmupSteps() + " >= total steps "
                    + plan.totalSteps() + ": warm-up is cut to the run, so the learning rate reaches its target only at the last step; ~5-10% of total steps is typical"));
        }
        if (c.loop().batchSize() > n) {
            w.add(new ConfigWarning("batch_size", "batch_size " + c.loop().batchSize() + " is larger than the " + n
                    + " training " + unit + "; every batch will be partial"));
        }
        return w;
    }

    /**
     * Typical epoch range {min, max} for a dataset of n examples. Images: 10-20 epochs for
     * 50-100 images, 5-10 for 200-500; smaller sets need more passes (about 1000-2000 image
     * views in total), larger ones fewer. Text: a few epochs.
     */
    static int[] guidanceEpochs(TaskType task, int n) {
        if (task == TaskType.TEXT_GENERATION) return n < 100 ? new int[] {5, 10} : n < 1000 ? new int[] {2, 5} : new int[] {1, 3};
        if (n < 50) return new int[] {Math.max(10, 1000 / n / 2), Math.max(20, 2000 / n)};
        if (n <= 100) return new int[] {10, 20};
        if (n < 200) return new int[] {8, 15};
        if (n <= 500) return new int[] {5, 10};
        return new int[] {3, 6};
    }

    private static double round2(double v) {
        return Double.parseDouble(String.format(java.util.Locale.ROOT, "%.2g", v));
    }
}
