package org.lorascripts.config;

/** Autocast dtype for the forward/backward pass; weights of the LoRA stay fp32. */
public enum MixedPrecision implements ConfigChoice {
    NO("no"),
    FP16("fp16"),
    BF16("bf16");

    private final String configName;

    MixedPrecision(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
