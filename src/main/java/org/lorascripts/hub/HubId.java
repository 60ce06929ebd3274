package org.lorascripts.hub;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A model named on the Hub: {@code org/name}, optionally {@code @revision} (branch, tag or commit) and
 * a file inside the repository ({@code org/name/file.safetensors}, {@code org/name@v1/file.safetensors}
 * or {@code org/name/file.safetensors@v1}).
 */
public record HubId(String repo, String revision, Optional<String> file) {
    public static final String MAIN = "main";

    /** Repository owner and name segments as the Hub allows them (letters, digits, '-', '_', '.'). */
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}");
    private static final Pattern REVISION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,199}");
    private static final Pattern FILE_SEGMENT = Pattern.compile("[^/\\\\:*?\"<>|]+");
    /**
     * A two-part name whose second part ends like a file ({@code models/v1-5.safetensors}) is a
     * mistyped local path, not a repository, though the Hub would allow the name.
     */
    private static final Pattern FILE_LIKE = Pattern.compile(".*\\.(safetensors|ckpt|pt|pth|bin|pkl|gguf|onnx|yaml|yml|json|jsonl|txt|csv|png|jpg)$");

    public HubId {
        if (!isRepo(repo)) throw new IllegalArgumentException("not a Hub repository id: " + repo);
        if (!REVISION.matcher(revision).matches() || revision.contains("..")) throw new IllegalArgumentException("not a revision: " + revision);
    }

    public static HubId of(String repo) { return new HubId(repo, MAIN, Optional.empty()); }

    /** The id with another revision (null or blank keeps this one). */
    public HubId withRevision(String rev) {
        return rev == null || rev.isBlank() ? this : new HubId(repo, rev.strip(), file);
    }

    /** Whether {@code text} can be a repository id {@code org/name}. */
    public static boolean isRepo(String text) {
        String[] parts = text.split("/", -1);
        return parts.length == 2 && SEGMENT.matcher(parts[0]).matches() && SEGMENT.matcher(parts[1]).matches()
                && !text.contains("..") && !text.contains("--") && !parts[1].endsWith(".git");
    }

    /**
     * {@code text} as a Hub id, or empty when it cannot be one: absolute or explicitly relative paths
     * ({@code /x}, {@code ./x}, {@code ~/x}), {@code builtin:} names, Windows paths, a single word.
     */
    public static Optional<HubId> parse(String text) {
        if (text == null) return Optional.empty();
        String t = text.strip();
        if (t.isEmpty() || t.startsWith("/") || t.startsWith(".") || t.startsWith("~") || t.contains("\\") || t.contains(":")
                || t.contains("//") || t.endsWith("/")) {
            return Optional.empty();
        }
        String revision = MAIN;
        int at = t.indexOf('@');
        if (at >= 0) {
            if (t.indexOf('@', at + 1) >= 0) return Optional.empty();
            String left = t.substring(0, at), right = t.substring(at + 1);
            if (right.isEmpty()) return Optional.empty();
            long leftParts = left.chars().filter(c -> c == '/').count() + 1;
            if (leftParts == 2 && right.contains("/") && !right.startsWith("refs/")) {
                // org/name@rev/file
                int slash = right.indexOf('/');
                revision = right.substring(0, slash);
                t = left + right.substring(slash);
            } else {
                revision = right;
                t = left;
            }
            if (!REVISION.matcher(revision).matches() || revision.contains("..")) return Optional.empty();
        }
        String[] parts = t.split("/");
        if (parts.length < 2) return Optional.empty();
        String repo = parts[0] + "/" + parts[1];
        if (!isRepo(repo)) return Optional.empty();
        if (parts.length == 2) {
            if (FILE_LIKE.matcher(parts[1].toLowerCase(Locale.ROOT)).matches()) return Optional.empty();
            return Optional.of(new HubId(repo, revision, Optional.empty()));
        }
        for (int i = 2; i < parts.length; i++) {
            if (!FILE_SEGMENT.matcher(parts[i]).matches() || parts[i].equals("..") || parts[i].equals(".")) return Optional.empty();
        }
        String file = t.substring(repo.length() + 1);
        if (!parts[parts.length - 1].contains(".")) return Optional.empty();   // a file in a repository has an extension
        return Optional.of(new HubId(repo, revision, Optional.of(file)));
    }

    /** Whether {@code s} is a full 40-digit commit hash. */
    public static boolean isCommit(String s) {
        return s.length() == 40 && s.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }

    @Override public String toString() {
        return repo + (revision.equals(MAIN) ? "" : "@" + revision) + file.map(f -> "/" + f).orElse("");
    }
}
