package org.lorascripts.config;

/** The type of a config value; {@link ValueParser} turns YAML/--set text into the Java type named here. */
public enum ValueKind {
    /** {@link Integer}. */ INT("integer"),
    /** {@link Double}; {@code 1e-4} is accepted however the YAML schema tags it. */ FLOAT("number"),
    /**
     * {@code List<Double>}: one number, or a YAML list of up to {@link ConfigKey#maxItems} numbers,
     * each checked against the key's range; an unset key derived from a number reads as a list of it.
     */
    NUMBER_LIST("number or list"),
    /** {@link Boolean}: true/false (yes/no/on/off too). */ BOOL("bool"),
    /** A {@link ConfigChoice} enum constant. */ CHOICE("choice"),
    /** {@link String}. */ STRING("string"),
    /** {@link java.nio.file.Path}, resolved against the config file's folder. */ PATH("path"),
    /** {@link BaseModel}: {@code builtin:NAME} or a path. */ MODEL("model"),
    /** {@code List<String>} of identifiers; a plain string is split at commas. */ NAME_LIST("list of names"),
    /**
     * {@code List<DataSource>}: paths (a plain string is split at commas), or mappings
     * {@code {path: ..., probability: 0.7}} / {@code {path: ..., weight: 2}}.
     */
    DATASET_LIST("list of paths"),
    /** {@code List<String>} of free texts (prompts); a plain string is one item. */ TEXT_LIST("list of strings"),
    /** {@link Resolution}. */ RESOLUTION("resolution"),
    /** {@link String}: auto, cpu, cuda or cuda:N. */ DEVICE("device"),
    /**
     * {@code List<SubsetKeys.Settings>}: a list of mappings, each one image subset with the keys of
     * {@link SubsetKeys} (kohya's {@code [[datasets.subsets]]}).
     */
    SUBSETS("list of subsets");

    private final String label;

    ValueKind(String label) { this.label = label; }

    /** Short name for the key table. */
    public String label() { return label; }
}
