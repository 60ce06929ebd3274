package org.lorascripts.tasks.sd;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.lorascripts.hub.HubCache;
import org.lorascripts.config.BaseModel;
import org.lorascripts.config.TrainConfig;
import org.lorascripts.data.ImageCaptionDataset;
import org.lorascripts.io.Json;
import org.lorascripts.models.sd.SdFamily;
import org.lorascripts.models.sd.SdPipeline;

/**
 * The metadata kohya's {@code train_network.py} writes into a LoRA, which AUTOMATIC1111 (LoRA
 * browser: tags, resolution, base model) and ComfyUI read: {@code ss_*} training facts, with values
 * spelled as Python's {@code str()} spells them ({@code True}, {@code 0.0001}, {@code (512, 512)}),
 * and the Stability AI ModelSpec keys as kohya's {@code library/sai_model_spec.py} sets them for an
 * SD 1.x/2.x LoRA (implementation {@code diffusers}) or an SDXL one (implementation Stability AI's
 * generative-models, whose module names SDXL LoRAs use). The sshs hashes are added by the writer.
 */
public final class SdLoraMetadata {
    private SdLoraMetadata() {}

    /** The base model's generation, as far as the metadata tells them apart. */
    public enum Base { SD1, SD2, SDXL }

    /** Facts known once the task is built; {@link #withProgress} adds the step counts at export time. */
    public static Map<String, String> of(TrainConfig c, SdPipeline p, ImageCaptionDataset train, int trainImages,
                                         int batchesPerEpoch, long startedAtMillis) {
        Base base = switch (p.family()) {
            case SD2 -> Base.SD2;
            case SDXL -> Base.SDXL;
            default -> Base.SD1;
        };
        return of(c, base, p.vPrediction(), train, trainImages, batchesPerEpoch, startedAtMillis);
    }

    /** The same for a base model given by its generation and prediction type. */
    public static Map<String, String> of(TrainConfig c, Base base, boolean vPred, ImageCaptionDataset train, int trainImages,
                                         int batchesPerEpoch, long startedAtMillis) {
        Map<String, String> m = new LinkedHashMap<>();
        boolean v2 = base == Base.SD2;
        boolean xl = base == Base.SDXL;
        TrainConfig.Lora lora = c.lora();
        TrainConfig.Optimizer opt = c.optimizer();
        TrainConfig.Loop loop = c.loop();
        TrainConfig.ImageData image = c.image();
        m.put("ss_training_started_at", pyFloat(startedAtMillis / 1000.0));
        m.put("ss_output_name", c.output().outputName());
        m.put("ss_learning_rate", pyFloat(opt.learningRate()));
        // one rate: a float, as before; one per encoder: Python's str() of the list, as kohya writes args.text_encoder_lr
        m.put("ss_text_encoder_lr", opt.textEncoderLrs().size() == 1 ? pyFloat(opt.textEncoderLr())
                : opt.textEncoderLrs().stream().map(SdLoraMetadata::pyFloat).collect(java.util.stream.Collectors.joining(", ", "[", "]")));
        m.put("ss_unet_lr", pyFloat(opt.unetLr()));
        m.put("ss_num_train_images", Integer.toString(trainImages));
        m.put("ss_num_reg_images", Integer.toString(train.regImagesWithRepeats()));
        m.put("ss_num_batches_per_epoch", Integer.toString(batchesPerEpoch));
        m.put("ss_num_epochs", Integer.toString(loop.epochs()));
        m.put("ss_batch_size_per_device", Integer.toString(loop.batchSize()));
        m.put("ss_total_batch_size", Integer.toString(loop.effectiveBatchSize()));
        m.put("ss_gradient_checkpointing", pyBool(loop.gradientCheckpointing()));
        m.put("ss_gradient_accumulation_steps", Integer.toString(loop.gradientAccumulationSteps()));
        m.put("ss_lr_warmup_steps", Integer.toString(c.schedule().warmupSteps()));
        m.put("ss_lr_scheduler", c.schedule().scheduler().configName());
        m.put("ss_optimizer", opt.type() == org.lorascripts.config.OptimizerType.ADAMW && opt.args().values().isEmpty()
                ? "torch.optim.adamw.AdamW(weight_decay=" + pyFloat(opt.weightDecay()) + ",betas=(" + pyFloat(opt.beta1())
                        + ", " + pyFloat(opt.beta2()) + "),eps=" + pyFloat(opt.epsilon()) + ")"
                : org.lorascripts.train.optim.Optimizers.describe(opt));
        m.put("ss_max_grad_norm", pyFloat(opt.maxGradNorm()));
        boolean lycoris = lora.networkType() != org.lorascripts.config.NetworkType.LORA;
        // a DoRA is what LyCORIS trains with network_args dora_wd=True: kohya records the module and its args
        m.put("ss_network_module", lycoris || lora.useDora() ? "lycoris.kohya" : "networks.lora");
        m.put("ss_network_dim", Integer.toString(lora.rank()));
        m.put("ss_network_alpha", pyFloat(lora.alpha()));
        // kohya's network_dropout (on the rank-r hidden); lora_dropout (on the input) has no kohya field
        m.put("ss_network_dropout", pyFloat(lora.networkDropout()));
        Map<String, Object> args = new java.util.LinkedHashMap<>();
        if (lycoris) {
            m.put("ss_network_args", lycorisArgs(lora));
        } else if (lora.convRank() > 0) {
            // kohya keeps network_args as the strings of its command line
            args.put("conv_dim", Integer.toString(lora.convRank()));
            args.put("conv_alpha", pyFloat(lora.convAlpha()));
        }
        if (!lycoris && !lora.useDora()) {
            if (lora.rankDropout() > 0) args.put("rank_dropout", pyFloat(lora.rankDropout()));
            if (lora.moduleDropout() > 0) args.put("module_dropout", pyFloat(lora.moduleDropout()));
        }
        if (lora.useDora()) {
            args.put("algo", "lora");
            args.put("dora_wd", "True");
            args.put("wd_on_output", "False");   // dora_scale per input channel, the form WebUI applies
        }
        if (!args.isEmpty()) m.put("ss_network_args", Json.write(Json.object(args)));
        m.put("ss_mixed_precision", loop.mixedPrecision().configName());
        m.put("ss_full_fp16", "False");
        m.put("ss_v2", pyBool(v2));
        // kohya's model_util.get_model_version_str_for_sd1_sd2: sd_v1, sd_v2, plus _v for v-parameterization;
        // SDXL: sdxl_model_util.MODEL_VERSION_SDXL_BASE_V1_0, whatever the prediction type
        m.put("ss_base_model_version", xl ? "sdxl_base_v1-0" : (v2 ? "sd_v2" : "sd_v1") + (vPred ? "_v" : ""));
        m.put("ss_clip_skip", Integer.toString(c.model().clipSkip()));
        m.put("ss_max_token_length", Integer.toString(c.model().maxTokenLength()));
        m.put("ss_cache_latents", pyBool(image.cacheLatents()));
        m.put("ss_seed", Long.toString(loop.seed()));
        m.put("ss_noise_offset", pyFloat(loop.noiseOffset()));
        m.put("ss_min_snr_gamma", pyFloat(loop.minSnrGamma()));
        var d = loop.diffusion();   // kohya writes None for an option not given, False for a flag
        m.put("ss_adaptive_noise_scale", d.adaptiveNoiseScale() != 0 ? pyFloat(d.adaptiveNoiseScale()) : "None");
        m.put("ss_ip_noise_gamma", d.ipNoiseGamma() > 0 ? pyFloat(d.ipNoiseGamma()) : "None");
        m.put("ss_noise_offset_random_strength", pyBool(d.noiseOffsetRandomStrength()));
        m.put("ss_ip_noise_gamma_random_strength", pyBool(d.ipNoiseGammaRandomStrength()));
        m.put("ss_debiased_estimation", pyBool(d.debiasedEstimationLoss()));
        m.put("ss_multires_noise_iterations", d.multiresNoiseIterations() > 0 ? Integer.toString(d.multiresNoiseIterations()) : "None");
        m.put("ss_multires_noise_discount", pyFloat(d.multiresNoiseDiscount()));
        m.put("ss_caption_dropout_rate", pyFloat(image.captionDropoutRate()));
        m.put("ss_keep_tokens", Integer.toString(image.keepTokens()));
        m.put("ss_flip_aug", pyBool(image.flipAug()));
        m.put("ss_random_crop", pyBool(image.randomCrop()));
        m.put("ss_resolution", "(" + image.resolution().width() + ", " + image.resolution().height() + ")");
        m.put("ss_enable_bucket", pyBool(image.buckets().enabled()));
        m.put("ss_min_bucket_reso", Integer.toString(image.buckets().minReso()));
        m.put("ss_max_bucket_reso", Integer.toString(image.buckets().maxReso()));
        m.put("ss_bucket_info", train.bucketStats().toJson());
        m.put("ss_tag_frequency", train.tagFrequencyJson());
        m.put("ss_dataset_dirs", train.isKohyaLayout() ? subsetDirs(train, false) : datasetDirs(c.data().trainDataDir(), train.trainImageCount()));
        m.put("ss_reg_dataset_dirs", c.data().regDataDir().isPresent() || c.data().subsets().stream().anyMatch(s -> s.isReg()) ? subsetDirs(train, true) : "{}");   // kohya writes it always, {} without reg images
        m.put("ss_sd_model_name", modelName(c.model().baseModel()));
        m.put("ss_training_comment", "trained with lora-scripts");
        // ModelSpec, as kohya's sai_model_spec.build_metadata for an SD 1.x / 2.x or SDXL LoRA
        m.put("modelspec.sai_model_spec", "1.0.0");
        m.put("modelspec.architecture", (xl ? "stable-diffusion-xl-v1-base" : !v2 ? "stable-diffusion-v1"
                : vPred ? "stable-diffusion-v2-768-v" : "stable-diffusion-v2-512") + "/lora");
        // build_metadata: an SDXL LoRA is in Stability AI's (LDM) names, a v1/v2 LoRA counts as diffusers
        m.put("modelspec.implementation", xl ? "https://github.com/Stability-AI/generative-models" : "diffusers");
        m.put("modelspec.title", c.output().outputName());
        m.put("modelspec.resolution", image.resolution().width() + "x" + image.resolution().height());
        // Python's isoformat() of a whole-second time; LocalDateTime.toString() would drop ":00" seconds
        m.put("modelspec.date", LocalDateTime.ofInstant(Instant.ofEpochMilli(startedAtMillis), ZoneId.systemDefault())
                .format(DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss", Locale.ROOT)));
        m.put("modelspec.prediction_type", vPred ? "v" : "epsilon");
        if (c.model().clipSkip() > 1) m.put("modelspec.encoder_layer", Integer.toString(c.model().clipSkip()));
        return m;
    }

    /**
     * The metadata of one export: the task's facts, the loop's ({@code training_step},
     * {@code training_total_steps}), and kohya's names for them: ss_steps, ss_epoch (1-based, the
     * epoch the step is in) and ss_max_train_steps; plus ss_training_finished_at.
     */
    public static Map<String, String> withProgress(Map<String, String> task, Map<String, String> loop, int stepsPerEpoch, long nowMillis) {
        Map<String, String> m = new LinkedHashMap<>(task);
        m.putAll(loop);
        String step = loop.get("training_step");
        if (step != null) {
            long s = Long.parseLong(step);
            m.put("ss_steps", Long.toString(s));
            m.put("ss_epoch", Long.toString(s == 0 ? 0 : (s - 1) / Math.max(1, stepsPerEpoch) + 1));
        }
        String total = loop.get("training_total_steps");
        if (total != null) m.put("ss_max_train_steps", total);
        m.put("ss_training_finished_at", pyFloat(nowMillis / 1000.0));
        return m;
    }

    /**
     * kohya's ss_dataset_dirs / ss_reg_dataset_dirs of a DreamBooth-style dataset: per subset folder name
     * (os.path.basename(image_dir), e.g. "10_mystyle"), its repeats and image count.
     */
    private static String subsetDirs(ImageCaptionDataset ds, boolean reg) {
        java.util.List<Object> kv = new java.util.ArrayList<>();
        for (ImageCaptionDataset.Subset s : ds.subsets()) {
            if (s.subset().reg() != reg) continue;
            kv.add(s.subset().folder());
            kv.add(Json.object("n_repeats", s.subset().repeats(), "img_count", s.images()));
        }
        return Json.write(Json.object(kv.toArray()));
    }

    private static String datasetDirs(Path dir, int images) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        return Json.write(Json.object(name == null ? "" : name.toString(), Json.object("n_repeats", 1, "img_count", images)));
    }

    /** kohya writes the base name of the model path. */
    static String modelName(BaseModel base) {
        return switch (base) {
            case BaseModel.Builtin b -> b.toString();
            // kohya writes the basename of --pretrained_model_name_or_path: for a Hub model its NAME, not the snapshot's commit
            case BaseModel.Local l -> HubCache.repoIdOf(l.path()).map(id -> id.substring(id.indexOf('/') + 1))
                    .orElse(l.path().getFileName() == null ? l.path().toString() : l.path().getFileName().toString());
        };
    }

    static String pyBool(boolean b) { return b ? "True" : "False"; }

    /** Python's {@code str(float)}: shortest repr, plain between 1e-4 and 1e16, else {@code 1e-05} style. */
    static String pyFloat(double v) {
        if (v == 0) return "0.0";
        if (Double.isNaN(v)) return "nan";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        double a = Math.abs(v);
        BigDecimal d = new BigDecimal(Double.toString(v)).stripTrailingZeros();
        if (a >= 1e-4 && a < 1e16) {
            String s = d.toPlainString();
            return s.contains(".") ? s : s + ".0";
        }
        String unscaled = d.unscaledValue().abs().toString();
        int exponent = unscaled.length() - 1 - d.scale();
        String mantissa = unscaled.length() == 1 ? unscaled : unscaled.charAt(0) + "." + unscaled.substring(1);
        return (v < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format(Locale.ROOT, "%02d", Math.abs(exponent));
    }

    /**
     * kohya's ss_network_args for a LyCORIS network: the network_args as given (strings, in order), with algo and,
     * for a conv rank, conv_dim / conv_alpha added when they came from our own keys, so LyCORIS reads the file's
     * settings back from it.
     */
    static String lycorisArgs(TrainConfig.Lora lora) {
        java.util.Map<String, Object> args = new java.util.LinkedHashMap<>(lora.networkArgs().raw());
        args.putIfAbsent("algo", lora.networkType().algo());
        if (lora.convRank() > 0) {
            args.putIfAbsent("conv_dim", Integer.toString(lora.convRank()));
            args.putIfAbsent("conv_alpha", pyFloat(lora.convAlpha()));
        }
        if (lora.networkType() == org.lorascripts.config.NetworkType.LOKR && !lora.networkArgs().raw().containsKey("factor")) {
            args.put("factor", "-1");
        }
        return Json.write(Json.object(args));
    }
}
