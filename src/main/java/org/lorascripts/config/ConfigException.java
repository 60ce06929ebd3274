package org.lorascripts.config;

import java.util.List;

/**
 * A problem with the user's configuration. Each message is one line that names where the
 * problem is (file:line, or the {@code --set} argument), the key, the value and what to do,
 * e.g. {@code my.yaml:12: unknown key 'learning_rat' (did you mean 'learning_rate'?)}.
 * Loading a config reports every problem of the file at once: {@link #problems()} holds them
 * all, one line each, and {@link #getMessage()} joins them with newlines. The CLI prints each
 * as {@code error: <line>}, never with a stack trace.
 */
public final class ConfigException extends RuntimeException {
    private final List<String> problems;

    public ConfigException(String message) {
        this(List.of(message));
    }

    /** Several problems found in one pass; {@code problems} must not be empty. */
    public ConfigException(List<String> problems) {
        super(String.join("\n", problems), null, false, false);
        if (problems.isEmpty()) throw new IllegalArgumentException("a ConfigException needs at least one problem");
        this.problems = List.copyOf(problems);
    }

    /** The problems, one line each, in the order a user would fix them (by line of the file). */
    public List<String> problems() { return problems; }

    /** A message prefixed with where the offending value came from. */
    public static ConfigException at(Origin origin, String message) {
        return new ConfigException(origin + ": " + message);
    }
}
