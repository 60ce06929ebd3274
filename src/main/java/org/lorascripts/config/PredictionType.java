package org.lorascripts.config;

/** What the UNet predicts; AUTO reads it from the base model. */
public enum PredictionType implements ConfigChoice {
    AUTO("auto"),
    EPSILON("epsilon"),
    V_PREDICTION("v_prediction");

    private final String configName;

    PredictionType(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
