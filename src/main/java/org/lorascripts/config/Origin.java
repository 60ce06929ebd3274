package org.lorascripts.config;

/**
 * Where a setting came from: a line of a config file ({@code my.yaml:12}), a {@code --set}
 * argument, or a default. Its {@link #toString()} is the prefix of error messages.
 */
public record Origin(String source, int line) {
    public static final Origin DEFAULT = new Origin("default", 0);

    public static Origin file(String displayName, int line) { return new Origin(displayName, line); }

    public static Origin override(String argument) { return new Origin("--set " + argument, 0); }

    public boolean isOverride() { return source.startsWith("--set "); }

    @Override public String toString() { return line > 0 ? source + ":" + line : source; }
}
