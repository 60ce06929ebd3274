package org.lorascripts.config;

/** What is trained: a Stable Diffusion image LoRA or an LLM text LoRA. */
public enum TaskType implements ConfigChoice {
    IMAGE_GENERATION("image-generation"),
    TEXT_GENERATION("text-generation");

    private final String configName;

    TaskType(String configName) { this.configName = configName; }

    @Override public String configName() { return configName; }
}
