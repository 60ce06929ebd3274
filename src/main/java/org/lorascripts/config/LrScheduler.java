package org.lorascripts.config;

/** Learning-rate schedules, named as in HF diffusers/transformers {@code get_scheduler}. */
public enum LrScheduler implements ConfigChoice {
    CONSTANT("constant"),
    CONSTANT_WITH_WARMUP("constant_with_warmup"),
    LINEAR("linear"),
    COSINE("cosine"),
    COSINE_WITH_RESTARTS("cosine_with_restarts"),
    POLYNOMIAL("polynomial");

    private final String configName;

    LrScheduler(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
