package org.lorascripts.config;

/** An enum whose constants are spelled in YAML by {@link #configName()} (e.g. {@code cosine_with_restarts}). */
public interface ConfigChoice {
    String configName();
}
