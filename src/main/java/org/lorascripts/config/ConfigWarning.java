package org.lorascripts.config;

/**
 * Advice about a legal but questionable setting. {@code key} is the setting it is about
 * (or empty for general advice); the CLI prints {@code warning: <message>}.
 */
public record ConfigWarning(String key, String message) {
    @Override public String toString() { return message; }
}
