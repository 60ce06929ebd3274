package org.lorascripts.config;

/** Chat template applied to conversational text examples; AUTO uses the tokenizer's own. */
public enum ChatTemplate implements ConfigChoice {
    AUTO("auto"),
    LLAMA3("llama3"),
    CHATML("chatml"),
    MISTRAL("mistral"),
    NONE("none");

    private final String configName;

    ChatTemplate(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
