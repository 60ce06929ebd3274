package org.lorascripts.hub;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Where the Hub is and where its cache lives, read from environment variables the way
 * {@code huggingface_hub} reads them, so that lora-scripts and the Python tools share one cache:
 * {@code HF_ENDPOINT} (a mirror; default https://huggingface.co), {@code HF_HUB_CACHE} (else
 * {@code HF_HOME/hub}, {@code HF_HOME} defaulting to {@code $XDG_CACHE_HOME/huggingface} or
 * {@code ~/.cache/huggingface}), {@code HF_TOKEN} (else the token file {@code HF_TOKEN_PATH}, default
 * {@code HF_HOME/token}, that {@code huggingface-cli login} writes) and {@code HF_HUB_OFFLINE=1}.
 * The variables come in as a map so that tests (and callers) choose them; nothing here reads the
 * process environment.
 */
public record HubEnvironment(URI endpoint, Path cacheDir, Path hfHome, Optional<String> token, String tokenSource, boolean offline) {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    private static final Set<String> TRUE = Set.of("1", "ON", "YES", "TRUE");

    /** Reads the settings from {@code env} (e.g. {@code System.getenv()}); {@code home} is the user's home folder. */
    public static HubEnvironment from(Map<String, String> env, Path home) {
        String ep = nonBlank(env.get("HF_ENDPOINT")).orElse(DEFAULT_ENDPOINT).strip();
        while (ep.endsWith("/")) ep = ep.substring(0, ep.length() - 1);
        URI endpoint;
        try {
            endpoint = URI.create(ep);
        } catch (IllegalArgumentException e) {
            throw new HubException("HF_ENDPOINT '" + ep + "' is not a URL: set it to e.g. https://hf-mirror.com");
        }
        if (endpoint.getScheme() == null || !(endpoint.getScheme().equals("http") || endpoint.getScheme().equals("https"))
                || endpoint.getHost() == null) {
            throw new HubException("HF_ENDPOINT '" + ep + "' is not an http(s) URL: set it to e.g. https://hf-mirror.com");
        }
        Path cacheBase = nonBlank(env.get("XDG_CACHE_HOME")).map(s -> path(s, home)).orElse(home.resolve(".cache"));
        Path hfHome = nonBlank(env.get("HF_HOME")).map(s -> path(s, home)).orElse(cacheBase.resolve("huggingface"));
        Path cache = nonBlank(env.get("HF_HUB_CACHE")).or(() -> nonBlank(env.get("HUGGINGFACE_HUB_CACHE")))
                .map(s -> path(s, home)).orElse(hfHome.resolve("hub"));
        Optional<String> token = nonBlank(env.get("HF_TOKEN")).map(String::strip);
        String source = "HF_TOKEN";
        if (token.isEmpty()) {
            token = nonBlank(env.get("HUGGING_FACE_HUB_TOKEN")).map(String::strip);
            source = "HUGGING_FACE_HUB_TOKEN";
        }
        if (token.isEmpty()) {
            Path file = nonBlank(env.get("HF_TOKEN_PATH")).map(s -> path(s, home)).orElse(hfHome.resolve("token"));
            token = readToken(file);
            source = file.toString();
        }
        boolean offline = isTrue(env.get("HF_HUB_OFFLINE")) || isTrue(env.get("TRANSFORMERS_OFFLINE"));
        return new HubEnvironment(endpoint, cache.toAbsolutePath().normalize(), hfHome.toAbsolutePath().normalize(), token,
                token.isPresent() ? source : "none", offline);
    }

    /** The settings of this process's environment. */
    public static HubEnvironment fromSystem() {
        return from(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** The web page of a repository on the public Hub, where a gated model's licence is accepted. */
    public static String modelPage(String repo) { return DEFAULT_ENDPOINT + "/" + repo; }

    private static Optional<String> readToken(Path file) {
        try {
            if (!Files.isRegularFile(file) || Files.size(file) > 4096) return Optional.empty();
            return nonBlank(Files.readString(file, StandardCharsets.UTF_8)).map(String::strip);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Path path(String s, Path home) {
        String t = s.strip();
        if (t.equals("~") || t.startsWith("~/")) return home.resolve(t.length() <= 2 ? "" : t.substring(2));
        return Path.of(t);
    }

    private static Optional<String> nonBlank(String s) {
        return s == null || s.isBlank() ? Optional.empty() : Optional.of(s);
    }

    static boolean isTrue(String v) {
        return v != null && TRUE.contains(v.strip().toUpperCase(Locale.ROOT));
    }
}
