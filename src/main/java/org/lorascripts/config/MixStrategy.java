package org.lorascripts.config;

/**
 * How several train_data datasets become one (LLaMA-Factory's {@code mix_strategy}, after Hugging Face
 * datasets' {@code concatenate_datasets} / {@code interleave_datasets}).
 */
public enum MixStrategy implements ConfigChoice {
    /** Every example of every dataset, one dataset after the other. */
    CONCAT("concat"),
    /** Interleave until the first dataset runs out ("first_exhausted"): the larger ones are undersampled. */
    INTERLEAVE_UNDER("interleave_under"),
    /** Interleave until every dataset has been used whole ("all_exhausted"): the smaller ones repeat. */
    INTERLEAVE_OVER("interleave_over");

    private final String configName;

    MixStrategy(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
