package org.lorascripts.config;

/** Dtype of the tensors written to the exported LoRA file. */
public enum SavePrecision implements ConfigChoice {
    FP16("fp16"),
    FP32("fp32"),
    BF16("bf16");

    private final String configName;

    SavePrecision(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
