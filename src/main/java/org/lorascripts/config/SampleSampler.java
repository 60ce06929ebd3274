package org.lorascripts.config;

/** Sampler used for preview images during training. */
public enum SampleSampler implements ConfigChoice {
    DDIM("ddim"),
    EULER_A("euler_a");

    private final String configName;

    SampleSampler(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
