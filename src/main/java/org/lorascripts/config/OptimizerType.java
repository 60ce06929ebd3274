package org.lorascripts.config;

/** Optimizers implemented so far. */
public enum OptimizerType implements ConfigChoice {
    ADAMW("adamw");

    private final String configName;

    OptimizerType(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
