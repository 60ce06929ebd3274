package org.lorascripts.gui;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;

/**
 * Who may talk to the app. Every session has a random token. It is embedded in the page, and every
 * state-changing request (POST) must send it in the {@value #HEADER} header, which a page of another origin
 * cannot read or set without a CORS preflight the app never allows; POSTs must also come from the app's own
 * origin when the browser says where they come from ({@code Origin}, {@code Sec-Fetch-Site}).
 * Bound to loopback, the Host header must name a loopback host (no DNS rebinding) and reading needs no
 * token. Bound to another address ({@code --listen}), every request needs the token: in the header, in
 * the cookie the first page sets, or as {@code ?token=} in the printed URL.
 */
public final class Access {
    public static final String HEADER = "X-Lora-Token";
    public static final String COOKIE = "lora_token";
    private static final Set<String> LOOPBACK_HOSTS = Set.of("127.0.0.1", "localhost", "[::1]", "::1");

    private final String token;
    private final boolean loopback;

    public Access(String token, boolean loopback) {
        this.token = token;
        this.loopback = loopback;
    }

    public static String newToken() {
        byte[] b = new byte[24];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    public String token() { return token; }

    public boolean loopback() { return loopback; }

    /** Whether an address given to --listen is a loopback one (127.x, ::1, localhost). */
    public static boolean isLoopback(String host) {
        try {
            return host.equals("localhost") || java.net.InetAddress.getByName(host).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /** Null when allowed, else why not (answered with 403). */
    public String check(String method, String host, String origin, String fetchSite, String header, String cookie, String query) {
        if (loopback && !loopbackHost(host)) return "this app answers only to 127.0.0.1/localhost (Host: " + host + ")";
        boolean changes = !method.equals("GET") && !method.equals("HEAD");
        if (!loopback && !matches(header) && !matches(cookie) && !matches(query)) {
            return "missing or wrong access token: open the URL that ./lora gui printed (with ?token=...)";
        }
        if (changes) {
            if (!matches(header)) return "missing or wrong " + HEADER + " header";
            if (fetchSite != null && !fetchSite.equals("same-origin") && !fetchSite.equals("none")) {
                return "cross-site request refused (Sec-Fetch-Site: " + fetchSite + ")";
            }
            if (origin != null && !origin.equalsIgnoreCase("http://" + host)) {
                return "cross-origin request refused (Origin: " + origin + ")";
            }
        }
        return null;
    }

    private static boolean loopbackHost(String host) {
        if (host == null) return false;
        String h = host.toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            h = end < 0 ? h : h.substring(0, end + 1);
        } else if (h.indexOf(':') >= 0) {
            h = h.substring(0, h.indexOf(':'));
        }
        return LOOPBACK_HOSTS.contains(h) || h.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }

    private boolean matches(String given) {
        return given != null && java.security.MessageDigest.isEqual(given.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                token.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
