package org.lorascripts.track;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.lorascripts.config.ConfigException;

/**
 * Where an MLflow run goes, from the variables MLflow's own clients read: {@code MLFLOW_TRACKING_URI}
 * (an http(s) tracking server), {@code MLFLOW_EXPERIMENT_NAME}, and the credentials
 * {@code MLFLOW_TRACKING_TOKEN} (a bearer token) or {@code MLFLOW_TRACKING_USERNAME} /
 * {@code MLFLOW_TRACKING_PASSWORD} (basic auth). The environment is a map the caller passes (the
 * process's in the CLI, another in tests).
 *
 * @param uri        the server's base URI, without a trailing slash
 * @param experiment {@code MLFLOW_EXPERIMENT_NAME}, if set
 */
public record MlflowSettings(URI uri, Optional<String> experiment, Optional<String> token, Optional<String> username,
                             Optional<String> password) {
    public static final String URI_VARIABLE = "MLFLOW_TRACKING_URI";

    @Override public String toString() {   // never the credentials
        return "MlflowSettings[" + uri + ", experiment " + experiment.orElse("(default)") + "]";
    }

    /** Whether {@code env} names a tracking server at all. */
    public static boolean configured(Map<String, String> env) {
        String u = env.get(URI_VARIABLE);
        return u != null && !u.isBlank();
    }

    /** The settings of {@code env}; a missing or unusable MLFLOW_TRACKING_URI is a one-line {@link ConfigException}. */
    public static MlflowSettings from(Map<String, String> env) {
        String raw = env.get(URI_VARIABLE);
        if (raw == null || raw.isBlank()) {
            throw new ConfigException("log_with mlflow: set " + URI_VARIABLE + " to the tracking server, e.g. "
                    + URI_VARIABLE + "=http://127.0.0.1:5000 (start one with: mlflow server --port 5000)");
        }
        String text = raw.strip();
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new ConfigException(URI_VARIABLE + "=" + text + " is not a URI; give the server as http://HOST:PORT");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
            throw new ConfigException(URI_VARIABLE + "=" + text + ": only an http(s) tracking server is supported here"
                    + " (not a local mlruns folder, a database or databricks); run mlflow server and give http://HOST:PORT");
        }
        String base = text.endsWith("/") ? text.substring(0, text.length() - 1) : text;
        return new MlflowSettings(URI.create(base), value(env, "MLFLOW_EXPERIMENT_NAME"), value(env, "MLFLOW_TRACKING_TOKEN"),
                value(env, "MLFLOW_TRACKING_USERNAME"), value(env, "MLFLOW_TRACKING_PASSWORD"));
    }

    private static Optional<String> value(Map<String, String> env, String name) {
        String v = env.get(name);
        return v == null || v.isBlank() ? Optional.empty() : Optional.of(v.strip());
    }

    /** The Authorization header value, if credentials are set (the token wins). */
    Optional<String> authorization() {
        if (token.isPresent()) return Optional.of("Bearer " + token.get());
        if (username.isPresent()) {
            String pair = username.get() + ":" + password.orElse("");
            return Optional.of("Basic " + java.util.Base64.getEncoder().encodeToString(pair.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }
        return Optional.empty();
    }
}
