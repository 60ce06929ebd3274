package org.lorascripts.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The keys one item of {@code subsets:} may hold: kohya sd-scripts' subset keys (library/config_util.py,
 * {@code [[datasets.subsets]]}) that lora-scripts implements. A caption or augmentation key left out of a
 * subset takes the top-level key of the same name, as kohya's subset falls back to its dataset and
 * {@code [general]}; {@link TrainConfig.Subset} holds the resolved values.
 */
public final class SubsetKeys {
    private SubsetKeys() {}

    private static ConfigKey.Builder key(String name) { return ConfigKey.builder(name, Section.DATA).image(); }

    /** The fields, in documentation order; the caption and augmentation ones share their top-level key's rules. */
    public static final List<ConfigKey> ALL = List.of(
            key("image_dir").path().required().help("The subset's image folder (captions beside the images, or metadata_file).").build(),
            key("num_repeats").integerAtLeast(1).def(1).help("How many times each image trains per epoch.").build(),
            key("class_tokens").string().help("Caption of the images without one (kohya's class tokens, e.g. \"sks dog\").").build(),
            key("is_reg").bool().def(false).help("Regularization images: matched to the train images per epoch, loss x prior_loss_weight.").build(),
            key("metadata_file").path().help("Captions of the subset: a metadata.csv, metadata.jsonl or kohya's fine-tuning JSON;"
                    + " image names relative to image_dir.").build(),
            inherit("caption_extension"), inherit("shuffle_caption"), inherit("keep_tokens"), inherit("keep_tokens_separator"),
            inherit("caption_dropout_rate"), inherit("caption_tag_dropout_rate"), inherit("flip_aug"), inherit("random_crop"),
            inherit("caption_prefix"), inherit("caption_suffix"), inherit("secondary_separator"));

    private static final Map<String, ConfigKey> BY_NAME = ALL.stream().collect(Collectors.toMap(ConfigKey::name, Function.identity()));

    /** A subset key with the type, range and help of the top-level key it overrides. */
    private static ConfigKey inherit(String name) {
        ConfigKey top = ConfigKeys.get(name);
        return new ConfigKey(name, Section.DATA, TaskScope.IMAGE, top.kind(), null, top.min(), top.max(), top.maxExclusive(),
                top.choices(), top.choiceType(), false, null, null, List.of(), top.help(), top.maxItems());
    }

    /** The subset key {@code name}, if there is one. */
    public static Optional<ConfigKey> lookup(String name) { return Optional.ofNullable(BY_NAME.get(name)); }

    static List<String> names() {
        List<String> n = new ArrayList<>();
        for (ConfigKey k : ALL) n.add(k.name());
        return n;
    }

    /**
     * One item of {@code subsets:} as written: the typed values of the keys it sets, by name, and where it
     * was written. Unset keys are resolved against the top-level keys by {@link TrainConfig#from}.
     */
    public record Settings(Map<String, Object> values, Origin origin) {
        public Settings { values = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(values)); }

        public boolean has(String key) { return values.containsKey(key); }
    }
}
