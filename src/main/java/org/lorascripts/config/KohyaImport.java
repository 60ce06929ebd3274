package org.lorascripts.config;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads kohya sd-scripts' TOML files as a lora-scripts config: the training-argument file of
 * {@code --config_file} (argparse names as keys; kohya merges every {@code [section]} into one namespace)
 * and the dataset config of {@code --dataset_config} (library/config_util.py: {@code [general]},
 * {@code [[datasets]]}, {@code [[datasets.subsets]]}), which the argument file may name with
 * {@code dataset_config}. The result is a list of settings with the TOML line each came from, which
 * {@link ConfigLoader#load} checks like a YAML file's, and which {@link Conversion#yaml} writes out as our YAML.
 *
 * <p>Where kohya's defaults differ from ours (its learning_rate 2e-6, network_alpha 1, constant schedule,
 * 1600 steps, text encoder trained, ".caption" files, no buckets, no latent cache, weights saved as trained),
 * the kohya default is written out, so that the run is the one kohya would make. The dataset config's
 * levels inherit as kohya's do: a subset key falls back to its dataset's and then to {@code [general]}
 * (written as our top-level key, which our subsets inherit); dataset-level keys (resolution, batch_size,
 * buckets) must agree across datasets, since one run here trains one dataset shape. Keys that are not
 * ours are never dropped silently: unknown ones, ones known but not implemented, and ones without effect
 * here are each listed in one warning.
 */
public final class KohyaImport {
    private KohyaImport() {}

    /** kohya names whose key here has another name. */
    private static final Map<String, String> RENAMED = Map.of(
            "pretrained_model_name_or_path", "base_model",
            "save_every_n_steps", "save_steps",
            "in_json", "metadata_path");

    /** kohya options that change training but are not implemented here, with what they do. */
    private static final Map<String, String> NOT_IMPLEMENTED = Map.ofEntries(
            Map.entry("color_aug", "hue augmentation"), Map.entry("face_crop_aug_range", "face-centred crops"),
            Map.entry("caption_separator", "a tag separator other than ','"), 
            Map.entry("enable_wildcard", "{a|b} caption wildcards"), Map.entry("caption_dropout_every_n_epochs", "caption dropout by epoch"),
            Map.entry("token_warmup_min", "token warmup"), Map.entry("token_warmup_step", "token warmup"),
            Map.entry("alpha_mask", "alpha-masked loss"), Map.entry("masked_loss", "masked loss"),
            Map.entry("custom_attributes", "custom subset attributes"), Map.entry("resize_interpolation", "the resize filter"),
            Map.entry("network_multiplier", "a dataset's network multiplier"), Map.entry("validation_split", "kohya's validation split (use val_ratio)"),
            Map.entry("validation_seed", "kohya's validation split"), Map.entry("conditioning_data_dir", "ControlNet datasets"),
            Map.entry("full_fp16", "fp16 weights"), Map.entry("full_bf16", "bf16 weights"),
            Map.entry("scale_weight_norms", "max-norm regularization"), Map.entry("huber_c", "Huber loss"),
            Map.entry("huber_schedule", "Huber loss"), Map.entry("zero_terminal_snr", "zero terminal SNR"),
            Map.entry("weighted_captions", "(word:1.2) weighted captions"), Map.entry("lr_scheduler_args", "scheduler arguments"),
            Map.entry("lr_scheduler_type", "a custom scheduler class"), Map.entry("network_train_text_encoder_only", "training only the text encoder"),
            Map.entry("dim_from_weights", "rank read from network_weights"), Map.entry("base_weights", "merged base LoRAs"),
            Map.entry("base_weights_multiplier", "merged base LoRAs"), Map.entry("save_state", "saving the trainer state by epoch (checkpoints always hold it)"),
            Map.entry("resume", "resuming from a kohya state (use --resume)"), Map.entry("save_last_n_epochs", "keeping the last N epochs (use save_total_limit)"),
            Map.entry("save_last_n_steps", "keeping the last N steps (use save_total_limit)"), Map.entry("save_n_epoch_ratio", "saving by epoch ratio"),
            Map.entry("sample_every_n_epochs", "samples by epoch (use sample_every_n_steps)"), Map.entry("sample_at_first", "samples before training"),
            Map.entry("no_metadata", "LoRA files without metadata"), Map.entry("dataset_repeats", "fine-tuning repeats (use num_repeats in subsets)"),
            Map.entry("max_train_epochs_ratio", "epoch ratio"), Map.entry("loss_type", "a loss other than l2"),
            Map.entry("training_comment", "the ss_training_comment metadata"), Map.entry("metadata_title", "modelspec metadata"),
            Map.entry("metadata_author", "modelspec metadata"), Map.entry("metadata_description", "modelspec metadata"),
            Map.entry("metadata_license", "modelspec metadata"), Map.entry("metadata_tags", "modelspec metadata"));

    /** kohya options that only concern its own runtime (attention kernels, loaders, loggers, uploads): no effect here. */
    private static final Set<String> NO_EFFECT = Set.of(
            "xformers", "sdpa", "mem_eff_attn", "max_data_loader_n_workers", "persistent_data_loader_workers", "lowram",
            "highvram", "logging_dir", "log_prefix", "log_tracker_config",
            "wandb_api_key", "log_config", "output_config", "config_file", "v2", "no_half_vae", "vae_batch_size",
            "cache_text_encoder_outputs", "skip_cache_check", "tokenizer_cache_dir", "huggingface_repo_id", "huggingface_repo_type",
            "huggingface_path_in_repo", "huggingface_token", "huggingface_repo_visibility", "save_state_to_huggingface",
            "resume_from_huggingface", "async_upload", "ddp_timeout", "ddp_gradient_as_bucket_view", "ddp_static_graph",
            "console_log_level", "console_log_file", "console_log_simple", "debug_dataset", "cache_info", "mem_eff_save",
            "deepspeed", "zero_stage", "sdxl", "disable_mmap_load_safetensors", "cpu_offload_checkpointing", "seed_per_epoch");

    /** Dataset-level keys of the dataset config (one value per run here). */
    private static final List<String> DATASET_LEVEL = List.of("resolution", "batch_size", "enable_bucket", "min_bucket_reso",
            "max_bucket_reso", "bucket_reso_steps", "bucket_no_upscale");

    /** Subset keys that our subsets inherit from the top-level key of the same name. */
    private static final List<String> INHERITED = List.of("caption_extension", "shuffle_caption", "keep_tokens",
            "keep_tokens_separator", "caption_dropout_rate", "caption_tag_dropout_rate", "flip_aug", "random_crop",
            "caption_prefix", "caption_suffix", "secondary_separator");

    /** Subset keys a dataset or [general] may give its subsets that have no top-level key here. */
    private static final List<String> SUBSET_ONLY = List.of("num_repeats", "class_tokens");

    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_.+\\-]+");

    /** One setting: our key, as kohya wrote it, its value, where, and a comment for the YAML. */
    record Setting(ConfigKey key, String written, RawValue value, Origin origin, String comment) {
        RawEntry entry() { return new RawEntry(key, written, value, origin); }
    }

    /** A converted pair of kohya files: the settings and what could not be converted. */
    public static final class Conversion {
        private final Map<String, Setting> settings = new LinkedHashMap<>();
        private final List<String> unknown = new ArrayList<>();
        private final List<String> notImplemented = new ArrayList<>();
        private final List<String> noEffect = new ArrayList<>();
        private final List<String> notes = new ArrayList<>();
        private final List<String> sources = new ArrayList<>();
        private final Path baseDir;
        private final String source;

        private Conversion(String source, Path baseDir) {
            this.source = source;
            this.baseDir = baseDir;
        }

        /** The file named in messages about the whole config (the argument file, else the dataset file). */
        public String source() { return source; }

        /** The folder that relative paths of the files resolve against. */
        public Path baseDir() { return baseDir; }

        List<RawEntry> entries() { return settings.values().stream().map(Setting::entry).toList(); }

        /** Whether the files set our key {@code key}. */
        public boolean has(String key) { return settings.containsKey(key); }

        /** How many of our keys the files set. */
        public int size() { return settings.size(); }

        private void set(String key, String written, RawValue value, Origin origin, String comment) {
            settings.remove(key);   // a later level (the dataset config over the arguments) wins, and is written in its place
            settings.put(key, new Setting(ConfigKeys.get(key), written, value, origin, comment));
        }

        private void setDefault(String key, String value, String comment) {
            if (!settings.containsKey(key)) set(key, key, new RawValue.Scalar(value), Origin.file(source, 0), comment);
        }

        /** The keys that were not converted, one warning each kind, and the notes on what was converted differently. */
        public List<ConfigWarning> warnings() {
            List<ConfigWarning> w = new ArrayList<>();
            if (!unknown.isEmpty()) {
                w.add(new ConfigWarning(null, "kohya keys not known here, not used: " + String.join(", ", unknown)));
            }
            if (!notImplemented.isEmpty()) {
                w.add(new ConfigWarning(null, "kohya keys known but not implemented here, not used: " + String.join(", ", notImplemented)));
            }
            if (!noEffect.isEmpty()) {
                w.add(new ConfigWarning(null, "kohya keys without effect here (kohya's runtime only): " + String.join(", ", noEffect)));
            }
            for (String n : notes) w.add(new ConfigWarning(null, n));
            return w;
        }

        /**
         * The settings as our YAML, in sections; paths absolute, or relative to {@code yamlFolder} when given
         * (where the YAML is written). Loading it gives the same config as the TOML files.
         */
        public String yaml(Path yamlFolder) {
            StringBuilder b = new StringBuilder();
            b.append("# lora-scripts config converted from kohya sd-scripts: ").append(String.join(" + ", sources)).append('\n');
            for (String n : notes) b.append("# note: ").append(n).append('\n');
            for (Section section : Section.values()) {
                if (section == Section.MODEL && !settings.containsKey("base_model")) {
                    b.append(section.yamlName()).append(":\n  # base_model: the kohya files name no base checkpoint; set it here\n");
                }
                List<Setting> in = new ArrayList<>();
                for (ConfigKey k : ConfigKeys.ALL) {
                    Setting s = settings.get(k.name());
                    if (s != null && k.section() == section) in.add(s);
                }
                if (in.isEmpty()) continue;
                if (section != Section.MODEL || settings.containsKey("base_model")) b.append(section.yamlName()).append(":\n");
                for (Setting s : in) {
                    if (s.key().kind() == ValueKind.SUBSETS && s.value() instanceof RawValue.Sequence q) {
                        b.append("  ").append(s.key().name()).append(":").append(comment(s)).append('\n');
                        for (RawValue item : q.items()) subsetYaml(b, (RawValue.Mapping) item, yamlFolder);
                        continue;
                    }
                    b.append("  ").append(s.key().name()).append(": ").append(render(s.value(), s.key().kind(), yamlFolder))
                            .append(comment(s)).append('\n');
                }
            }
            return b.toString();
        }

        private static String comment(Setting s) {
            String c = s.comment();
            if (c == null && !s.written().equals(s.key().name())) c = "kohya: " + s.written();
            return c == null ? "" : "   # " + c;
        }

        private void subsetYaml(StringBuilder b, RawValue.Mapping m, Path yamlFolder) {
            String lead = "    - ";
            for (RawValue.Field f : m.fields()) {
                ValueKind kind = SubsetKeys.lookup(f.key()).map(ConfigKey::kind).orElse(ValueKind.STRING);
                b.append(lead).append(f.key()).append(": ").append(render(f.value(), kind, yamlFolder)).append('\n');
                lead = "      ";
            }
        }

        private String render(RawValue v, ValueKind kind, Path yamlFolder) {
            return switch (v) {
                case RawValue.Scalar s when kind == ValueKind.PATH || (kind == ValueKind.MODEL
                        && !s.text().startsWith(BaseModel.BUILTIN_PREFIX)) -> quote(path(s.text(), yamlFolder));
                case RawValue.Scalar s -> scalar(s.text(), kind);
                case RawValue.Sequence q -> {
                    List<String> items = new ArrayList<>();
                    for (RawValue item : q.items()) items.add(render(item, kind == ValueKind.TEXT_LIST ? ValueKind.STRING : kind, yamlFolder));
                    yield "[" + String.join(", ", items) + "]";
                }
                case RawValue.Null n -> "~";
                default -> "{}";   // refused when loaded, with the TOML line
            };
        }

        private String path(String text, Path yamlFolder) {
            try {
                Path p = Path.of(text);
                Path abs = p.isAbsolute() ? p.normalize() : baseDir.resolve(p).normalize();
                if (yamlFolder == null) return abs.toString();
                Path rel = yamlFolder.toAbsolutePath().normalize().relativize(abs);
                return rel.toString().isEmpty() ? "." : rel.toString();
            } catch (IllegalArgumentException e) {   // InvalidPathException, or a path relativize cannot reach
                return text;   // the loader names it
            }
        }

        private static String scalar(String text, ValueKind kind) {
            boolean typed = switch (kind) {
                case INT, FLOAT, NUMBER_LIST, BOOL, CHOICE, DEVICE, RESOLUTION -> true;
                default -> false;
            };
            return typed && PLAIN.matcher(text).matches() ? text : quote(text);
        }

        /** A YAML double-quoted scalar (JSON escapes are valid YAML). */
        private static String quote(String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    case '\t' -> b.append("\\t");
                    case '\r' -> b.append("\\r");
                    default -> {
                        if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                        else b.append(c);
                    }
                }
            }
            return b.append('"').toString();
        }
    }

    /** Whether {@code file} is a TOML file (by its name), which {@link ConfigLoader#load} reads as kohya's. */
    public static boolean isToml(Path file) {
        Path name = file.getFileName();
        return name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".toml");
    }

    /** A training-argument file (which may name its dataset config) or a dataset config on its own. */
    public static Conversion read(Path file) {
        KohyaToml toml = KohyaToml.read(file, file.toString());
        return isDatasetConfig(toml.root) ? convert(null, toml) : convert(toml, null);
    }

    /**
     * The argument file {@code args} with the dataset config {@code dataset} (which replaces any
     * {@code dataset_config} the arguments name); either may be null, not both.
     */
    public static Conversion read(Path args, Path dataset) {
        if (args == null && dataset == null) throw new IllegalArgumentException("no kohya file given");
        KohyaToml a = args == null ? null : KohyaToml.read(args, args.toString());
        KohyaToml d = dataset == null ? null : KohyaToml.read(dataset, dataset.toString());
        if (a != null && isDatasetConfig(a.root)) {
            throw new ConfigException(args + ": this is a dataset config ([general] / [[datasets]]); pass it as the dataset file");
        }
        if (d != null && !isDatasetConfig(d.root)) {
            throw new ConfigException(dataset + ": not a kohya dataset config (no [general] or [[datasets]] table)");
        }
        return convert(a, d);
    }

    private static boolean isDatasetConfig(JsonNode root) {
        return root.has("datasets") || root.get("general") instanceof com.fasterxml.jackson.databind.node.ObjectNode;
    }

    private static Conversion convert(KohyaToml args, KohyaToml dataset) {
        KohyaToml first = args != null ? args : dataset;
        Path base = first.file.toAbsolutePath().normalize().getParent();
        Conversion c = new Conversion(first.display, base);
        if (args != null) {
            c.sources.add(args.display);
            KohyaToml named = arguments(args, c);
            if (dataset == null) dataset = named;
            else if (named != null) c.notes.add(dataset.display + " is used instead of the dataset_config the arguments name");
        }
        if (dataset != null) {
            if (args != null && dataset != first) c.sources.add(dataset.display);
            if (args == null) c.sources.add(dataset.display);
            for (String ignored : new String[] {"train_data_dir", "reg_data_dir", "metadata_path"}) {
                Setting s = c.settings.remove(ignored);
                if (s != null) c.notes.add(s.written() + " (" + s.origin() + ") is ignored: the dataset config names the images, as in kohya");
            }
            datasets(dataset, c);
        }
        return c;
    }

    // ---- the training-argument file

    /** Converts the argument file; returns the dataset config it names, if any. */
    private static KohyaToml arguments(KohyaToml toml, Conversion c) {
        Map<String, JsonNode> flat = new LinkedHashMap<>();
        Map<String, String> path = new LinkedHashMap<>();
        for (var e : toml.root.properties()) {
            if (e.getValue().isObject()) {   // kohya merges every section into one namespace
                for (var inner : e.getValue().properties()) {
                    flat.put(inner.getKey(), inner.getValue());
                    path.put(inner.getKey(), e.getKey() + "." + inner.getKey());
                }
            } else {
                flat.put(e.getKey(), e.getValue());
                path.put(e.getKey(), e.getKey());
            }
        }
        KohyaToml datasetConfig = null;
        for (var e : flat.entrySet()) {
            String name = e.getKey();
            JsonNode v = e.getValue();
            Origin origin = toml.origin(path.get(name));
            RawValue raw = KohyaToml.raw(v, origin.line());
            String text = v.isValueNode() ? v.asText() : "";
            switch (name) {
                case "dataset_config" -> datasetConfig = datasetFile(toml, text, origin);
                case "v_parameterization" -> {
                    if (v.asBoolean(false)) c.set("prediction_type", name, new RawValue.Scalar("v_prediction"), origin, "kohya: v_parameterization = true");
                }
                case "network_train_unet_only" -> c.set("train_text_encoder", name,
                        new RawValue.Scalar(Boolean.toString(!v.asBoolean(false))), origin, "kohya: network_train_unet_only = " + v.asBoolean(false));
                case "network_args" -> networkArgs(v, origin, c);
                case "network_module" -> {
                    if (text.equals("networks.lora") || text.equals("lycoris.kohya")) c.set("network_module", name, raw, origin, null);
                    else c.notImplemented.add(name + " = \"" + text + "\" (" + origin + "; networks.lora (LoRA, LoCon with conv_dim) and"
                            + " lycoris.kohya (algo=lora, loha, lokr) are trained)");
                }
                case "save_model_as" -> {
                    if (text.equals("safetensors")) c.noEffect.add(name);
                    else c.notImplemented.add(name + " = \"" + text + "\" (" + origin + "; LoRA files are .safetensors)");
                }
                case "save_precision" -> c.set("save_precision", name, new RawValue.Scalar(text.equals("float") ? "fp32" : text), origin,
                        text.equals("float") ? "kohya: save_precision = \"float\"" : null);
                case "sample_sampler" -> sampler(text, origin, c);
                case "sample_prompts" -> samplePrompts(toml, text, origin, c);
                case "caption_separator" -> {
                    if (!text.equals(",")) c.notImplemented.add(name + " (" + origin + ": " + NOT_IMPLEMENTED.get(name) + ")");
                }
                case "lr_warmup_steps" -> {
                    if (v.isNumber() && !v.canConvertToExactIntegral() && v.asDouble() < 1) {
                        c.notImplemented.add(name + " = " + text + " (" + origin + ": warmup as a ratio of the steps; give steps)");
                    } else {
                        c.set("lr_warmup_steps", name, raw, origin, null);
                    }
                }
                default -> other(name, raw, origin, c);
            }
        }
        boolean epochs = flat.containsKey("max_train_epochs");
        if (epochs && flat.containsKey("max_train_steps")) {
            Setting s = c.settings.remove("max_steps");
            if (s != null) c.notes.add("max_train_steps (" + s.origin() + ") is ignored: max_train_epochs wins, as in kohya");
        }
        // kohya's defaults where ours differ: the run is the one kohya would make
        c.setDefault("learning_rate", "2e-6", "kohya's default");
        c.setDefault("lr_scheduler", "constant", "kohya's default");
        if (!epochs) c.setDefault("max_steps", "1600", "kohya's default max_train_steps");
        c.setDefault("lora_rank", "4", "kohya's default network_dim");
        c.setDefault("lora_alpha", "1", "kohya's default network_alpha");
        c.setDefault("train_text_encoder", "true", "kohya trains the text encoder unless network_train_unet_only");
        c.setDefault("save_precision", "fp32", "kohya saves the weights as trained");
        kohyaDataDefaults(c);
        return datasetConfig;
    }

    /** Data defaults of kohya's that differ from ours (argument files and dataset configs alike). */
    private static void kohyaDataDefaults(Conversion c) {
        c.setDefault("caption_extension", ".caption", "kohya's default");
        c.setDefault("enable_bucket", "false", "kohya's default");
        c.setDefault("cache_latents", "false", "kohya's default");
    }

    private static void other(String name, RawValue raw, Origin origin, Conversion c) {
        if (RENAMED.containsKey(name)) {
            c.set(RENAMED.get(name), name, raw, origin, "kohya: " + name);
        } else if (NOT_IMPLEMENTED.containsKey(name)) {
            c.notImplemented.add(name + " (" + origin + ": " + NOT_IMPLEMENTED.get(name) + ")");
        } else if (NO_EFFECT.contains(name)) {
            c.noEffect.add(name);
        } else if (ConfigKeys.lookup(name).isPresent() && !name.equals("subsets")) {
            c.set(ConfigKeys.lookup(name).get().name(), name, raw, origin, null);
        } else {
            c.unknown.add(name + " (" + origin + ")");
        }
    }

    private static KohyaToml datasetFile(KohyaToml args, String text, Origin origin) {
        Path named = Path.of(text);
        // kohya resolves it against the folder it runs in; here the argument file's folder comes first
        Path beside = args.file.toAbsolutePath().normalize().getParent().resolve(named).normalize();
        Path found = Files.isRegularFile(beside) ? beside : Files.isRegularFile(named) ? named.toAbsolutePath().normalize() : null;
        if (found == null) {
            throw ConfigException.at(origin, "dataset_config '" + text + "' not found (looked beside " + args.display
                    + " and in the current folder)");
        }
        KohyaToml d = KohyaToml.read(found, found.toString());
        if (!isDatasetConfig(d.root)) {
            throw ConfigException.at(origin, "dataset_config '" + text + "' is not a kohya dataset config (no [general] or [[datasets]])");
        }
        return d;
    }

    /**
     * {@code network_args = ["conv_dim=4", "conv_alpha=1", "loraplus_lr_ratio=16", "algo=loha"]}: conv_dim / conv_alpha and the
     * LoRA+ ratios become our keys; LyCORIS' own arguments (algo, factor, decompose_both, full_matrix, dora_wd ...) stay in our
     * {@code network_args}, which checks them when the YAML loads and names any it does not implement.
     */
    private static void networkArgs(JsonNode v, Origin origin, Conversion c) {
        Map<String, String> ours = Map.of("conv_dim", "conv_rank", "conv_alpha", "conv_alpha", "loraplus_lr_ratio", "loraplus_lr_ratio",
                "loraplus_unet_lr_ratio", "loraplus_unet_lr_ratio", "loraplus_text_encoder_lr_ratio", "loraplus_text_encoder_lr_ratio");
        List<JsonNode> items = new ArrayList<>();
        if (v.isArray()) v.forEach(items::add);
        else items.add(v);
        List<RawValue> passed = new ArrayList<>();
        for (JsonNode item : items) {
            String arg = item.asText();
            int eq = arg.indexOf('=');
            String key = (eq < 0 ? arg : arg.substring(0, eq)).strip();
            String value = eq < 0 ? "" : arg.substring(eq + 1).strip();
            if (ours.containsKey(key)) {
                c.set(ours.get(key), "network_args " + key, new RawValue.Scalar(value), origin, "kohya: network_args \"" + arg + "\"");
            } else if (NetworkArgs.LYCORIS_KEYS.contains(key)) {
                passed.add(new RawValue.Scalar(arg));
            } else {
                c.notImplemented.add("network_args \"" + arg + "\" (" + origin + ")");
            }
        }
        if (!passed.isEmpty()) c.set("network_args", "network_args", new RawValue.Sequence(passed), origin, null);
    }

    private static void sampler(String text, Origin origin, Conversion c) {
        String ours = switch (text.toLowerCase(Locale.ROOT)) {
            case "ddim" -> "ddim";
            case "euler_a", "k_euler_a" -> "euler_a";
            case "dpmsolver++" -> "dpmpp_2m";
            default -> null;
        };
        if (ours == null) c.notImplemented.add("sample_sampler = \"" + text + "\" (" + origin + "; samplers here: ddim, euler_a, dpmsolver++)");
        else c.set("sample_sampler", "sample_sampler", new RawValue.Scalar(ours), origin, ours.equals(text) ? null : "kohya: " + text);
    }

    /**
     * kohya's sample_prompts names a prompt file: a .txt file's lines become our sample_prompts (kohya's
     * per-prompt options after " --" are cut off, with a note); a .toml/.json prompt file is not read.
     */
    private static void samplePrompts(KohyaToml args, String text, Origin origin, Conversion c) {
        Path file = args.file.toAbsolutePath().normalize().getParent().resolve(text).normalize();
        if (!text.toLowerCase(Locale.ROOT).endsWith(".txt") || !Files.isRegularFile(file)) {
            c.notImplemented.add("sample_prompts = \"" + text + "\" (" + origin + "; a .txt prompt file beside the arguments is read;"
                    + " give the prompts as sample_prompts)");
            return;
        }
        List<RawValue> prompts = new ArrayList<>();
        boolean options = false;
        try {
            for (String line : Files.readAllLines(file)) {
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("#")) continue;
                int opt = l.indexOf(" --");
                options |= opt >= 0;
                prompts.add(new RawValue.Scalar(opt >= 0 ? l.substring(0, opt).strip() : l));
            }
        } catch (java.io.IOException e) {
            throw ConfigException.at(origin, "cannot read sample_prompts file " + file + " (" + e.getMessage() + ")");
        }
        c.set("sample_prompts", "sample_prompts", new RawValue.Sequence(prompts), origin, "from " + text);
        if (options) c.notes.add("sample_prompts: the per-prompt options (--n, --w, --s ...) of " + text + " are not used");
    }

    // ---- the dataset config

    private static void datasets(KohyaToml toml, Conversion c) {
        JsonNode root = toml.root;
        for (var e : root.properties()) {
            if (!e.getKey().equals("general") && !e.getKey().equals("datasets")) c.unknown.add(e.getKey() + " (" + toml.origin(e.getKey()) + ")");
        }
        JsonNode general = root.path("general");
        JsonNode datasets = root.path("datasets");
        if (!datasets.isArray() || datasets.isEmpty()) {
            throw new ConfigException(toml.display + ": no [[datasets]] with [[datasets.subsets]]: nothing to train on");
        }
        Map<String, Object[]> fromGeneral = new LinkedHashMap<>();   // num_repeats / class_tokens of [general]
        for (var e : general.properties()) {
            String k = e.getKey();
            Origin origin = toml.origin("general." + k);
            if (DATASET_LEVEL.contains(k)) continue;   // below, with the datasets'
            if (INHERITED.contains(k)) c.set(k, k, KohyaToml.raw(e.getValue(), origin.line()), origin, "[general]");
            else if (SUBSET_ONLY.contains(k)) fromGeneral.put(k, new Object[] {e.getValue(), origin.line()});
            else unused("general." + k, k, origin, c);
        }
        // dataset-level keys: one value for the run
        for (String k : DATASET_LEVEL) {
            JsonNode chosen = null;
            String at = null;
            for (int i = 0; i < datasets.size(); i++) {
                JsonNode d = datasets.get(i);
                String p = d.has(k) ? "datasets[" + i + "]." + k : general.has(k) ? "general." + k : null;
                JsonNode v = d.has(k) ? d.get(k) : general.get(k);
                if (v == null) {
                    if (chosen != null) throw mismatch(toml, k, at, chosen, "datasets[" + i + "]", null);
                    continue;
                }
                if (chosen == null && i > 0) throw mismatch(toml, k, p, v, "datasets[0]", null);
                if (chosen != null && !chosen.equals(v)) throw mismatch(toml, k, p, v, at, chosen);
                chosen = v;
                at = p;
            }
            if (chosen != null) {
                Origin origin = toml.origin(at);
                c.set(k, k, KohyaToml.raw(chosen, origin.line()), origin, at.startsWith("general") ? "[general]" : "[[datasets]]");
            }
        }
        List<RawValue> subsets = new ArrayList<>();
        boolean regAnywhere = false;
        int datasetsWithReg = 0;
        for (int i = 0; i < datasets.size(); i++) {
            JsonNode d = datasets.get(i);
            String dp = "datasets[" + i + "]";
            for (var e : d.properties()) {
                String k = e.getKey();
                if (!k.equals("subsets") && !DATASET_LEVEL.contains(k) && !INHERITED.contains(k) && !SUBSET_ONLY.contains(k)) {
                    unused(dp + "." + k, k, toml.origin(dp + "." + k), c);
                }
            }
            JsonNode ss = d.path("subsets");
            if (!ss.isArray() || ss.isEmpty()) {
                throw ConfigException.at(toml.origin(dp), dp + " has no [[datasets.subsets]]: give it at least one subset with image_dir");
            }
            boolean reg = false;
            for (int j = 0; j < ss.size(); j++) {
                JsonNode s = ss.get(j);
                String sp = dp + ".subsets[" + j + "]";
                if (!s.isObject()) throw ConfigException.at(toml.origin(sp), sp + " must be a table of subset keys");
                if (s.has("conditioning_data_dir")) {
                    throw ConfigException.at(toml.origin(sp + ".conditioning_data_dir"), sp + " is a ControlNet subset (conditioning_data_dir),"
                            + " which lora-scripts does not train");
                }
                List<RawValue.Field> fields = new ArrayList<>();
                for (var e : s.properties()) {
                    String k = e.getKey();
                    if (SubsetKeys.lookup(k).isEmpty()) unused(sp + "." + k, k, toml.origin(sp + "." + k), c);
                }
                for (ConfigKey key : SubsetKeys.ALL) {
                    String k = key.name();
                    JsonNode v = null;
                    int line = 0;
                    if (s.has(k)) { v = s.get(k); line = toml.line(sp + "." + k); }
                    else if (!k.equals("image_dir") && !k.equals("is_reg") && !k.equals("metadata_file") && d.has(k)) {
                        v = d.get(k); line = toml.line(dp + "." + k);
                    } else if (fromGeneral.containsKey(k)) {
                        v = (JsonNode) fromGeneral.get(k)[0]; line = (Integer) fromGeneral.get(k)[1];
                    }
                    if (v == null) continue;
                    fields.add(new RawValue.Field(k, KohyaToml.raw(v, line), line));
                }
                if (!s.has("image_dir") && s.has("metadata_file")) {
                    // kohya's fine-tuning subset: image paths in the metadata, here relative to its folder
                    Path meta = Path.of(s.get("metadata_file").asText());
                    Path folder = (meta.isAbsolute() ? meta : c.baseDir.resolve(meta)).normalize().getParent();
                    int line = toml.line(sp + ".metadata_file");
                    fields.addFirst(new RawValue.Field("image_dir", new RawValue.Scalar(folder.toString()), line));
                    c.notes.add(sp + " has no image_dir: its images are looked up beside its metadata_file");
                }
                reg |= s.path("is_reg").asBoolean(false);
                subsets.add(new RawValue.Mapping(fields));
            }
            if (reg) datasetsWithReg++;
            regAnywhere |= reg;
        }
        if (datasetsWithReg > 0 && datasets.size() > 1) {
            c.notes.add("the " + datasets.size() + " datasets train as one: reg images are matched to the train images of all of"
                    + " them together (kohya matches them per dataset)");
        }
        Origin at = toml.origin("datasets[0].subsets[0]");
        c.set("subsets", "subsets", new RawValue.Sequence(subsets), at, null);
        kohyaDataDefaults(c);
        if (!regAnywhere && c.settings.containsKey("prior_loss_weight")) {
            c.notes.add("prior_loss_weight has no effect: no subset has is_reg = true");
        }
    }

    private static void unused(String path, String key, Origin origin, Conversion c) {
        String where = path + " (" + origin + ")";
        if (NOT_IMPLEMENTED.containsKey(key)) c.notImplemented.add(where.replace(")", ": " + NOT_IMPLEMENTED.get(key) + ")"));
        else if (NO_EFFECT.contains(key)) c.noEffect.add(path);
        else c.unknown.add(where);
    }

    private static ConfigException mismatch(KohyaToml toml, String key, String at, JsonNode v, String other, JsonNode otherValue) {
        return ConfigException.at(toml.origin(at), key + " = " + v + " here but " + (otherValue == null ? "unset" : otherValue.toString())
                + " in " + other + ": lora-scripts trains the datasets as one, with one " + key + "; give every dataset the same"
                + " (e.g. in [general]) or train them in separate runs");
    }
}
