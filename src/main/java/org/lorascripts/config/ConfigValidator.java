package org.lorascripts.config;

/**
 * Rules that involve more than one key (single-key types and ranges are {@link ValueParser}'s).
 * Each failure names the line of the key to change and what to do.
 */
final class ConfigValidator {
    private ConfigValidator() {}

    static void validate(ConfigValues v) {
        checkPrecision(v);
        checkBuiltinMatchesTask(v);
        TaskType task = v.choice("task_type", TaskType.class);
        if (task == TaskType.IMAGE_GENERATION) checkImage(v);
        if (v.number("val_ratio") > 0 && v.isSet("val_data_dir")) {
            throw ConfigException.at(v.origin("val_data_dir"),
                    "set either val_ratio or val_data_dir, not both (val_ratio is at " + v.origin("val_ratio") + ")");
        }
        String name = v.string("output_name");
        if (name.contains("/") || name.contains("\\") || name.equals(".") || name.equals("..")) {
            throw ConfigException.at(v.origin("output_name"), "output_name must be a file name stem without folders, got '"
                    + name + "'; put folders in output_dir");
        }
    }

    /** use_fp16 is the legacy spelling of mixed_precision: fp16; both set differently is a conflict. */
    private static void checkPrecision(ConfigValues v) {
        if (!v.isSet("use_fp16")) return;
        boolean fp16 = v.bool("use_fp16");
        MixedPrecision mp = v.choice("mixed_precision", MixedPrecision.class);
        if (v.isSet("mixed_precision") && (mp == MixedPrecision.FP16) != fp16) {
            throw ConfigException.at(v.origin("mixed_precision"), "mixed_precision '" + mp.configName()
                    + "' conflicts with use_fp16: " + fp16 + " (" + v.origin("use_fp16")
                    + "); remove use_fp16 (legacy) and keep mixed_precision");
        }
        if (fp16 && !v.isSet("mixed_precision")) {
            v.put(ConfigKeys.get("mixed_precision"), MixedPrecision.FP16, v.origin("use_fp16"), "use_fp16");
        }
    }

    private static void checkBuiltinMatchesTask(ConfigValues v) {
        if (!(v.get("base_model") instanceof BaseModel.Builtin b)) return;
        TaskType task = v.choice("task_type", TaskType.class);
        if (b.task() != task) {
            String article = b.task() == TaskType.IMAGE_GENERATION ? " is an " : " is a ";
            throw ConfigException.at(v.origin("base_model"), "base_model " + b + article + b.task().configName()
                    + " model but task_type is " + task.configName() + "; set task_type: " + b.task().configName());
        }
    }

    private static void checkImage(ConfigValues v) {
        if (v.integer("min_bucket_reso") > v.integer("max_bucket_reso")) {
            throw ConfigException.at(v.origin("min_bucket_reso"), "min_bucket_reso " + v.integer("min_bucket_reso")
                    + " is larger than max_bucket_reso " + v.integer("max_bucket_reso"));
        }
        if (v.integer("bucket_reso_steps") % 8 != 0) {
            throw ConfigException.at(v.origin("bucket_reso_steps"), "bucket_reso_steps must be a multiple of 8, got '"
                    + v.integer("bucket_reso_steps") + "' (64 is recommended)");
        }
        Resolution r = (Resolution) v.get("resolution");
        int small = Math.min(r.width(), r.height()), large = Math.max(r.width(), r.height());
        if (v.bool("enable_bucket") && small < v.integer("min_bucket_reso")) {
            throw ConfigException.at(v.origin("resolution"), "resolution " + r + " is below min_bucket_reso "
                    + v.integer("min_bucket_reso") + "; set min_bucket_reso: " + Math.max(64, small / 64 * 64)
                    + " or enable_bucket: false");
        }
        if (v.bool("enable_bucket") && large > v.integer("max_bucket_reso")) {
            throw ConfigException.at(v.origin("resolution"), "resolution " + r + " is above max_bucket_reso "
                    + v.integer("max_bucket_reso") + "; set max_bucket_reso: " + large + " or enable_bucket: false");
        }
        if (v.bool("cache_latents")) {
            for (String aug : new String[] {"random_crop", "flip_aug"}) {
                if (v.bool(aug)) {
                    throw ConfigException.at(v.origin(aug), aug + ": true needs cache_latents: false (cached latents"
                            + " are computed once per image, so per-step augmentation cannot apply)");
                }
            }
        }
    }
}
