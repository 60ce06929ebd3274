package org.lorascripts.config;

/** How text training files are read: one example per line (.txt) or one JSON object per line (.jsonl). */
public enum DataFormat implements ConfigChoice {
    AUTO("auto"),
    TEXT("text"),
    JSONL("jsonl");

    private final String configName;

    DataFormat(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
