package org.lorascripts.config;

/**
 * The optional YAML sections of the nested config form. A key may be written at the top level
 * or inside any section: the sections only organise the file (users of the older scripts mix
 * them freely), so a key found in "another" section is accepted without a warning.
 */
public enum Section {
    MODEL("model_config"), LORA("lora_config"), TRAIN("train_config"), DATA("data_config"),
    OUTPUT("output_config"), SAMPLE("sample_config");

    private final String yamlName;

    Section(String yamlName) { this.yamlName = yamlName; }

    public String yamlName() { return yamlName; }

    public static java.util.Optional<Section> byYamlName(String name) {
        for (Section s : values()) if (s.yamlName.equals(name)) return java.util.Optional.of(s);
        return java.util.Optional.empty();
    }
}
