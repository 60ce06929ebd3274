package org.lorascripts.config;

/**
 * Chat template applied to conversational text examples. AUTO renders the model's own Jinja
 * template when its tokenizer has one (else no markup); MODEL requires it; the others are the
 * built-in renderings.
 */
public enum ChatTemplate implements ConfigChoice {
    AUTO("auto"),
    MODEL("model"),
    LLAMA3("llama3"),
    CHATML("chatml"),
    MISTRAL("mistral"),
    NONE("none");

    private final String configName;

    ChatTemplate(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
