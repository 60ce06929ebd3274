package org.lorascripts.config;

/** An enum whose constants are spelled in YAML by {@link #configName()} (e.g. {@code cosine_with_restarts}). */
public interface ConfigChoice {
    String configName();

    /** Other accepted spellings (for example kohya's), matched like the name: case and '-' vs '_' aside. */
    default java.util.List<String> aliases() { return java.util.List.of(); }
}
