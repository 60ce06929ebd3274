package org.lorascripts.config;

/**
 * A problem with the user's configuration. The message is one line that names where the
 * problem is (file:line, or the {@code --set} argument), the key, the value and what to do,
 * e.g. {@code my.yaml:12: unknown key 'learning_rat' (did you mean 'learning_rate'?)}.
 * The CLI prints it as {@code error: <message>}, never with a stack trace.
 */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message, null, false, false);
    }

    /** A message prefixed with where the offending value came from. */
    public static ConfigException at(Origin origin, String message) {
        return new ConfigException(origin + ": " + message);
    }
}
