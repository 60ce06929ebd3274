package org.lorascripts.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Rules that involve more than one key, or a key's value beyond its type (single-key types and
 * ranges are {@link ValueParser}'s). Each failure names the line of the key to change and what to
 * do; all failures are collected in {@link ConfigProblems}. A rule is skipped when one of its keys
 * already failed on its own, since it would then judge a default the user did not choose.
 */
final class ConfigValidator {
    /** File endings of Python pickles: unpickling runs code, so these are never loaded. */
    static final List<String> PICKLE_EXTENSIONS = List.of(".ckpt", ".pt", ".pth", ".bin", ".pkl");

    private ConfigValidator() {}

    /** Checks {@code v}, adding failures to {@code p}; returns notes about values it adjusted. */
    static List<ConfigWarning> validate(ConfigValues v, ConfigProblems p) {
        List<ConfigWarning> notes = new ArrayList<>();
        checkPrecision(v, p);
        checkBuiltinMatchesTask(v, p);
        checkPickles(v, p);
        TaskType task = v.choice("task_type", TaskType.class);
        if (task == TaskType.IMAGE_GENERATION) checkImage(v, p, notes);
        checkSubsets(v, p, task);
        checkMix(v, p, task);
        checkQuantization(v, p, task);
        if (!p.failed("min_timestep") && !p.failed("max_timestep") && v.integer("min_timestep") >= v.integer("max_timestep")) {
            p.add(v.origin(v.isSet("min_timestep") ? "min_timestep" : "max_timestep"), "min_timestep " + v.integer("min_timestep")
                    + " must be below max_timestep " + v.integer("max_timestep") + " (timesteps run from min_timestep to max_timestep - 1)",
                    "min_timestep", "max_timestep");
        }
        if (v.number("val_ratio") > 0 && v.isSet("val_data_dir")) {
            p.add(v.origin("val_data_dir"), "set either val_ratio or val_data_dir, not both (val_ratio is at "
                    + v.origin("val_ratio") + ")", "val_ratio", "val_data_dir");
        }
        long effectiveBatch = (long) v.integer("batch_size") * v.integer("gradient_accumulation_steps");
        if (effectiveBatch > Integer.MAX_VALUE) {  // the trainer and the step plan count it in an int
            p.add(v.origin("gradient_accumulation_steps"), "batch_size x gradient_accumulation_steps = " + effectiveBatch
                    + " is too large (at most " + Integer.MAX_VALUE + ")", "batch_size", "gradient_accumulation_steps");
        }
        try {
            OptimizerType opt = v.choice("optimizer", OptimizerType.class);
            OptimizerArgs args = OptimizerArgs.parse(opt, v.list("optimizer_args"));
            if (opt == OptimizerType.SGD || opt == OptimizerType.SGD_NESTEROV) {
                boolean nesterov = args.bool("nesterov", opt == OptimizerType.SGD_NESTEROV);
                double momentum = args.number("momentum", opt == OptimizerType.SGD_NESTEROV ? 0.9 : 0);
                if (nesterov && (momentum <= 0 || args.number("dampening", 0) != 0)) {
                    throw new IllegalArgumentException("optimizer_args: Nesterov momentum needs momentum > 0 and dampening=0"
                            + " (e.g. [\"momentum=0.9\", \"nesterov=True\"])");
                }
            }
            if (opt == OptimizerType.ADAMW8BIT && args.has("min_8bit_size")) {
                double min = args.number("min_8bit_size", 0);
                if (!(min >= 0) || min != Math.rint(min) || min > Long.MAX_VALUE / 2) {
                    throw new IllegalArgumentException("optimizer_args: min_8bit_size must be a whole number >= 0 (tensors with fewer"
                            + " elements keep 32-bit states; bitsandbytes' default is 4096), got " + min);
                }
            }
        } catch (IllegalArgumentException e) {
            p.add(v.origin(v.isSet("optimizer_args") ? "optimizer_args" : "optimizer"), e.getMessage(), "optimizer_args", "optimizer");
        }
        checkLogWith(v, p);
        String name = v.string("output_name");
        if (name.contains("/") || name.contains("\\") || name.equals(".") || name.equals("..")) {
            p.add(v.origin("output_name"), "output_name must be a file name stem without folders, got '"
                    + name + "'; put folders in output_dir", "output_name", "output_dir");
        }
        return notes;
    }

    /** load_in_4bit / load_in_8bit / quantization_bit: 4-bit NF4 or 8-bit float, one of them, for the text task's base model. */
    private static void checkQuantization(ConfigValues v, ConfigProblems p, TaskType task) {
        int bits = v.integer("quantization_bit");
        if (bits != 0 && bits != 4 && bits != 8) {
            p.add(v.origin("quantization_bit"), "quantization_bit: " + bits + " is not supported; use 4 (4-bit NF4, load_in_4bit: true),"
                    + " 8 (8-bit float, load_in_8bit: true) or 0 for none", "quantization_bit");
        }
        boolean four = v.bool("load_in_4bit") || bits == 4, eight = v.bool("load_in_8bit") || bits == 8;
        if (four && eight) {
            String key = v.bool("load_in_8bit") ? "load_in_8bit" : "quantization_bit";
            p.add(v.origin(key), key + " and " + (v.bool("load_in_4bit") ? "load_in_4bit" : "quantization_bit: 4")
                    + " ask for two base precisions; keep one", key);
        }
        if ((four || eight) && task == TaskType.IMAGE_GENERATION) {
            String key = v.bool("load_in_4bit") ? "load_in_4bit" : v.bool("load_in_8bit") ? "load_in_8bit" : "quantization_bit";
            p.add(v.origin(key), key + " (a quantised LLM base) is for text-generation only; for images use fp8_base: true", key);
        }
    }

    /** use_fp16 is the legacy spelling of mixed_precision: fp16; both set differently is a conflict. */
    /** log_with / report_to: known tracker names; none alone. */
    private static void checkLogWith(ConfigValues v, ConfigProblems p) {
        List<String> names = v.list("log_with");
        for (String n : names) {
            if (!TrainConfig.Tracking.TRACKERS.contains(n.toLowerCase(java.util.Locale.ROOT))) {
                p.add(v.origin("log_with"), v.written("log_with") + ": unknown tracker '" + n + "'; use "
                        + String.join(", ", TrainConfig.Tracking.TRACKERS), "log_with");
                return;
            }
        }
        if (names.size() > 1 && names.stream().anyMatch(n -> n.equalsIgnoreCase("none"))) {
            p.add(v.origin("log_with"), v.written("log_with") + ": none cannot be combined with other trackers, got "
                    + String.join(", ", names), "log_with");
        }
    }

    private static void checkPrecision(ConfigValues v, ConfigProblems p) {
        if (!v.isSet("use_fp16")) return;
        boolean fp16 = v.bool("use_fp16");
        MixedPrecision mp = v.choice("mixed_precision", MixedPrecision.class);
        if (v.isSet("mixed_precision") && (mp == MixedPrecision.FP16) != fp16) {
            p.add(v.origin("mixed_precision"), "mixed_precision '" + mp.configName() + "' conflicts with use_fp16: "
                    + fp16 + " (" + v.origin("use_fp16") + "); remove use_fp16 (legacy) and keep mixed_precision");
        }
        if (fp16 && !v.isSet("mixed_precision")) {
            v.put(ConfigKeys.get("mixed_precision"), MixedPrecision.FP16, v.origin("use_fp16"), "use_fp16");
        }
    }

    private static void checkBuiltinMatchesTask(ConfigValues v, ConfigProblems p) {
        if (!(v.get("base_model") instanceof BaseModel.Builtin b)) return;
        TaskType task = v.choice("task_type", TaskType.class);
        if (b.task() != task) {
            String article = b.task() == TaskType.IMAGE_GENERATION ? " is an " : " is a ";
            p.add(v.origin("base_model"), "base_model " + b + article + b.task().configName() + " model but task_type is "
                    + task.configName() + "; set task_type: " + b.task().configName(), "task_type");
        }
    }

    /**
     * A pickle is refused by its name, before anything looks inside: loading one can run code.
     * The hint says how to make the .safetensors file the loaders read.
     */
    private static void checkPickles(ConfigValues v, ConfigProblems p) {
        boolean image = v.choice("task_type", TaskType.class) == TaskType.IMAGE_GENERATION;
        if (v.get("base_model") instanceof BaseModel.Local local) {
            pickleExtension(local.path()).ifPresent(ext -> p.add(v.origin("base_model"), "base_model " + local.path()
                    + " is a Python pickle (" + ext + "), which lora-scripts never loads (unpickling can run code); convert it to"
                    + " .safetensors once, where you trust the file, and point base_model at that: " + (image
                    ? "AUTOMATIC1111's Checkpoint Merger with checkpoint format safetensors, or diffusers'"
                      + " convert_original_stable_diffusion_to_diffusers.py --to_safetensors"
                    : "AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(OUT, safe_serialization=True)")));
        }
        Path weights = v.path("network_weights");
        if (weights != null) {
            pickleExtension(weights).ifPresent(ext -> p.add(v.origin("network_weights"), "network_weights " + weights
                    + " is a Python pickle (" + ext + "), which lora-scripts never loads (unpickling can run code); convert it to"
                    + " .safetensors once, where you trust the file: python -c \"import torch, safetensors.torch as st;"
                    + " st.save_file(torch.load('" + weights.getFileName() + "'), 'lora.safetensors')\""));
        }
    }

    private static java.util.Optional<String> pickleExtension(Path path) {
        String name = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
        return PICKLE_EXTENSIONS.stream().filter(name::endsWith).findFirst();
    }

    /**
     * network_args (kohya's, for LyCORIS): algo= sets network_type, conv_dim= / conv_alpha= set conv_rank / conv_alpha;
     * a value given both ways must agree.
     */
    private static void checkNetworkArgs(ConfigValues v, ConfigProblems p) {
        if (!v.isSet("network_args")) return;
        NetworkArgs args;
        try {
            args = NetworkArgs.parse(v.list("network_args"));
        } catch (IllegalArgumentException e) {
            p.add(v.origin("network_args"), e.getMessage(), "network_args");
            return;
        }
        Origin at = v.origin("network_args");
        NetworkType t = args.networkType();
        if (t != null) {
            if (v.isSet("network_type") && v.choice("network_type", NetworkType.class) != t) {
                p.add(v.origin("network_type"), "network_type '" + v.choice("network_type", NetworkType.class).configName()
                        + "' conflicts with network_args algo=" + args.algo() + " (" + at + "); keep one of them", "network_type", "network_args");
            } else {
                v.put(ConfigKeys.get("network_type"), t, at, "network_args algo");
            }
        }
        if (args.doraWd() != null) {
            if (v.isSet("use_dora") && v.bool("use_dora") != args.doraWd()) {
                p.add(v.origin("use_dora"), "use_dora " + v.bool("use_dora") + " conflicts with network_args dora_wd=" + args.raw().get("dora_wd")
                        + " (" + at + "); keep one of them", "use_dora", "network_args");
            } else {
                v.put(ConfigKeys.get("use_dora"), args.doraWd(), at, "network_args dora_wd");
            }
        }
        if (args.convDim() != null) {
            if (v.isSet("conv_rank") && v.integer("conv_rank") != args.convDim()) {
                p.add(v.origin("conv_rank"), v.written("conv_rank") + " " + v.integer("conv_rank") + " conflicts with network_args conv_dim="
                        + args.convDim() + " (" + at + "); keep one of them", "conv_rank", "network_args");
            } else {
                v.put(ConfigKeys.get("conv_rank"), args.convDim(), at, "network_args conv_dim");
            }
        }
        if (args.convAlpha() != null) {
            if (v.isSet("conv_alpha") && v.number("conv_alpha") != args.convAlpha()) {
                p.add(v.origin("conv_alpha"), "conv_alpha " + v.number("conv_alpha") + " conflicts with network_args conv_alpha="
                        + args.raw().get("conv_alpha") + " (" + at + "); keep one of them", "conv_alpha", "network_args");
            } else {
                v.put(ConfigKeys.get("conv_alpha"), args.convAlpha(), at, "network_args conv_alpha");
            }
        }
        String[][] dropouts = {{"dropout", "network_dropout"}, {"rank_dropout", "rank_dropout"}, {"module_dropout", "module_dropout"}};
        Double[] given = {args.dropout(), args.rankDropout(), args.moduleDropout()};
        for (int i = 0; i < dropouts.length; i++) {
            if (given[i] == null) continue;
            String arg = dropouts[i][0], key = dropouts[i][1];
            if (v.isSet(key) && v.number(key) != given[i]) {
                p.add(v.origin(key), key + " " + v.number(key) + " conflicts with network_args " + arg + "=" + args.raw().get(arg)
                        + " (" + at + "); keep one of them", key, "network_args");
            } else {
                v.put(ConfigKeys.get(key), given[i], at, "network_args " + arg);
            }
        }
    }

    /**
     * train_data replaces train_data_dir for text runs; interleave_probs (as LLaMA-Factory checks them)
     * go with an interleave mix_strategy, one per dataset, and (as numpy's choice needs) sum to 1.
     */
    @SuppressWarnings("unchecked")
    private static void checkMix(ConfigValues v, ConfigProblems p, TaskType task) {
        if (p.failed("train_data") || p.failed("interleave_probs") || p.failed("mix_strategy")) return;
        int datasets = 1;
        if (v.isSet("train_data")) {
            List<DataSource> data = TrainConfig.dataSources(v);
            datasets = data.size();
            if (task == TaskType.IMAGE_GENERATION) {
                p.add(v.origin("train_data"), "train_data mixes text datasets; an image run reads train_data_dir or subsets", "train_data");
                return;
            }
            if (data.isEmpty()) {
                p.add(v.origin("train_data"), "train_data is empty: list at least one file or folder, or remove the key", "train_data");
                return;
            }
            if (v.isSet("train_data_dir")) {
                p.add(v.origin("train_data_dir"), "set either train_data_dir or train_data (at " + v.origin("train_data")
                        + "), not both: add the folder to train_data's list", "train_data_dir", "train_data");
                return;
            }
        }
        List<DataSource> sources = v.isSet("train_data") ? TrainConfig.dataSources(v) : List.of();
        long shares = sources.stream().filter(d -> d.share() != null).count();
        if (shares > 0) {
            if (shares < sources.size()) {
                p.add(v.origin("train_data"), "train_data gives a probability or weight to " + shares + " of " + sources.size()
                        + " datasets; give one to every dataset or to none", "train_data");
                return;
            }
            if (v.isSet("interleave_probs")) {
                p.add(v.origin("interleave_probs"), "set either interleave_probs or train_data's probabilities/weights (at "
                        + v.origin("train_data") + "), not both", "interleave_probs", "train_data");
                return;
            }
            if (sources.stream().anyMatch(DataSource::isWeight) && sources.stream().anyMatch(d -> !d.isWeight())) {
                p.add(v.origin("train_data"), "train_data mixes probability and weight entries; use one of them", "train_data");
                return;
            }
        }
        if (!v.isSet("interleave_probs") && shares == 0) return;
        String what = shares > 0 ? "train_data's " + (sources.getFirst().isWeight() ? "weights" : "probabilities") : "interleave_probs";
        String at = shares > 0 ? "train_data" : "interleave_probs";
        List<Double> probs = shares > 0 ? sources.stream().map(DataSource::share).toList() : v.numbers("interleave_probs");
        boolean weights = shares > 0 && sources.getFirst().isWeight();
        MixStrategy mix = v.choice("mix_strategy", MixStrategy.class);
        if (mix == MixStrategy.CONCAT) {
            p.add(v.origin(at), what + " only apply to mix_strategy interleave_under or interleave_over"
                    + " (mix_strategy is concat); set one of those or remove " + what, at, "mix_strategy");
            return;
        }
        if (probs.size() != datasets) {
            p.add(v.origin("interleave_probs"), "interleave_probs has " + probs.size() + " probabilities but train_data has "
                    + datasets + " dataset" + (datasets == 1 ? "" : "s") + "; give one per dataset, in the same order", "interleave_probs", "train_data");
            return;
        }
        double sum = probs.stream().mapToDouble(Double::doubleValue).sum();
        if (weights && sum <= 0) {
            p.add(v.origin(at), what + " are all 0; give at least one dataset a weight > 0", at);
            return;
        }
        if (!weights && Math.abs(sum - 1) > 1e-6) {
            p.add(v.origin(at), what + " " + ValueText.format(probs, ValueKind.NUMBER_LIST) + " sum to "
                    + NumberText.format(Math.round(sum * 1e9) / 1e9) + ", not 1; scale them so they add up to 1", at);
            return;
        }
        if (mix == MixStrategy.INTERLEAVE_OVER && probs.contains(0.0)) {
            p.add(v.origin(at), what + " give a dataset probability 0, so interleave_over (run until every"
                    + " dataset is used whole) would never end; remove that dataset or give it a probability > 0", at);
        }
    }

    /**
     * {@code subsets:} replaces train_data_dir, reg_data_dir and metadata_path (as kohya's dataset config
     * replaces them); it needs a train subset, and a subset's flip_aug / random_crop need cache_latents off.
     */
    @SuppressWarnings("unchecked")
    private static void checkSubsets(ConfigValues v, ConfigProblems p, TaskType task) {
        if (!v.isSet("subsets") || p.failed("subsets")) return;
        List<SubsetKeys.Settings> raw = (List<SubsetKeys.Settings>) v.get("subsets");
        if (task != TaskType.IMAGE_GENERATION) {
            p.add(v.origin("subsets"), "subsets are image subsets; a text-generation run reads train_data_dir", "subsets");
            return;
        }
        if (raw.isEmpty()) {
            p.add(v.origin("subsets"), "subsets is empty: list at least one {image_dir: ...} or remove the key", "subsets");
            return;
        }
        for (String replaced : new String[] {"train_data_dir", "reg_data_dir", "metadata_path"}) {
            if (v.isSet(replaced)) {
                p.add(v.origin(replaced), "set either " + replaced + " or subsets (at " + v.origin("subsets") + "), not both: "
                        + (replaced.equals("reg_data_dir") ? "give the reg folders as subsets with is_reg: true"
                           : replaced.equals("metadata_path") ? "give each subset its metadata_file" : "subsets name their image folders"),
                        replaced, "subsets");
            }
        }
        List<TrainConfig.Subset> subsets = TrainConfig.subsets(v);
        if (subsets.stream().allMatch(TrainConfig.Subset::isReg)) {
            p.add(v.origin("subsets"), "every subset has is_reg: true; at least one must hold training images", "subsets");
        }
        if (!v.bool("cache_latents")) return;
        for (int i = 0; i < subsets.size(); i++) {
            TrainConfig.Subset s = subsets.get(i);
            for (String aug : new String[] {"random_crop", "flip_aug"}) {
                boolean on = aug.equals("flip_aug") ? s.flipAug() : s.randomCrop();
                if (on && raw.get(i).has(aug)) {
                    p.add(raw.get(i).origin(), "subsets[" + i + "]." + aug + ": true needs cache_latents: false (cached latents are"
                            + " computed once per image, so per-step augmentation cannot apply)", "subsets", "cache_latents");
                }
            }
        }
    }

    private static void checkImage(ConfigValues v, ConfigProblems p, List<ConfigWarning> notes) {
        boolean ordered = v.integer("min_bucket_reso") <= v.integer("max_bucket_reso");
        if (!ordered) {
            p.add(v.origin("min_bucket_reso"), "min_bucket_reso " + v.integer("min_bucket_reso")
                    + " is larger than max_bucket_reso " + v.integer("max_bucket_reso"), "min_bucket_reso", "max_bucket_reso");
        }
        if (v.integer("bucket_reso_steps") % 8 != 0) {
            p.add(v.origin("bucket_reso_steps"), "bucket_reso_steps must be a multiple of 8, got '"
                    + v.integer("bucket_reso_steps") + "' (64 is recommended)");
        }
        if (ordered && v.bool("enable_bucket")) fitBucketRange(v, p, notes);
        checkNetworkArgs(v, p);
        if (v.bool("use_dora") && v.choice("network_type", NetworkType.class) != NetworkType.LORA) {
            p.add(v.origin("use_dora"), "use_dora: true decomposes a plain LoRA; network_type "
                    + v.choice("network_type", NetworkType.class).configName() + " has no DoRA form here: set network_type lora or use_dora false",
                    "use_dora", "network_type");
        }
        if (v.bool("cache_latents")) {
            for (String aug : new String[] {"random_crop", "flip_aug"}) {
                if (v.bool(aug)) {
                    p.add(v.origin(aug), aug + ": true needs cache_latents: false (cached latents are computed once per"
                            + " image, so per-step augmentation cannot apply)", aug, "cache_latents");
                }
            }
        }
    }

    /**
     * The bucket range must hold the resolution. A bound the user left at its default follows the
     * resolution (with a note, so the change is visible): {@code resolution: 128} with the default
     * min_bucket_reso 256 would otherwise refuse a plain small-model config. A bound the user set
     * is respected, and a conflict with it is an error saying what to set.
     */
    private static void fitBucketRange(ConfigValues v, ConfigProblems p, List<ConfigWarning> notes) {
        if (p.failed("resolution") || p.failed("min_bucket_reso") || p.failed("max_bucket_reso") || p.failed("bucket_reso_steps")) return;
        Resolution r = (Resolution) v.get("resolution");
        int small = Math.min(r.width(), r.height()), large = Math.max(r.width(), r.height());
        int steps = Math.max(8, v.integer("bucket_reso_steps"));
        ConfigKey minKey = ConfigKeys.get("min_bucket_reso"), maxKey = ConfigKeys.get("max_bucket_reso");
        int lowest = minKey.min().intValue(), highest = maxKey.max().intValue();
        int min = v.integer("min_bucket_reso");
        if (small < min) {
            int fitted = Math.max(lowest, small / steps * steps);
            if (v.isSet("min_bucket_reso") || fitted > small) {
                p.add(v.origin("resolution"), "resolution " + r + " is below min_bucket_reso " + min + " ("
                        + where(v, "min_bucket_reso") + "); set " + (fitted <= small ? "min_bucket_reso: " + fitted + " or " : "")
                        + "enable_bucket: false");
            } else {
                v.fit(minKey, fitted, v.origin("resolution"));
                notes.add(new ConfigWarning("min_bucket_reso", "min_bucket_reso " + fitted + " (instead of the default " + min
                        + ") so that buckets hold resolution " + r + "; set min_bucket_reso to choose another"));
            }
        }
        int max = v.integer("max_bucket_reso");
        if (large > max) {
            int fitted = Math.min(highest, (large + steps - 1) / steps * steps);
            if (v.isSet("max_bucket_reso") || fitted < large) {
                p.add(v.origin("resolution"), "resolution " + r + " is above max_bucket_reso " + max + " ("
                        + where(v, "max_bucket_reso") + "); set max_bucket_reso: " + large + " or enable_bucket: false");
            } else {
                v.fit(maxKey, fitted, v.origin("resolution"));
                notes.add(new ConfigWarning("max_bucket_reso", "max_bucket_reso " + fitted + " (instead of the default " + max
                        + ") so that buckets hold resolution " + r + "; set max_bucket_reso to choose another"));
            }
        }
    }

    private static String where(ConfigValues v, String key) {
        return v.isSet(key) ? "set at " + v.origin(key) : "the default";
    }
}
