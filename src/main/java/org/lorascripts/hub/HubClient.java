package org.lorascripts.hub;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.LongConsumer;
import org.lorascripts.io.Json;

/**
 * The Hub's HTTP endpoints through the JDK's {@link HttpClient}: the repository listing
 * ({@code GET /api/models/ORG/NAME/revision/REV?blobs=true}), file metadata ({@code HEAD
 * /ORG/NAME/resolve/REV/FILE}: {@code X-Repo-Commit}, {@code X-Linked-Etag} / {@code ETag},
 * {@code X-Linked-Size}) and downloads that follow the redirect to the LFS storage host, resume with
 * {@code Range} requests after a cut connection and are checked against the file's sha256.
 * The token goes only to the endpoint's own scheme, host and port, never to a redirect's other host.
 * Failures become one-line {@link HubException}s; 429, 5xx and network errors are retried with
 * exponential backoff first.
 */
final class HubClient {
    /** A file of a repository as the listing describes it. */
    record RepoFile(String path, long size, String blobId, String lfsSha256) {
        boolean isLfs() { return lfsSha256 != null; }

        /** What huggingface_hub names the blob by: the sha256 of an LFS file, else the git blob id. */
        String etag() { return isLfs() ? lfsSha256 : blobId; }
    }

    record RepoInfo(String commit, List<RepoFile> files) {}

    /** A file's metadata from HEAD: {@code location} is where its bytes are (a redirect's target for LFS files). */
    record FileMeta(String commit, String etag, long size, URI location) {}

    /** The endpoint could not be reached at all (no answer, not an HTTP error): a cached model may stand in. */
    static final class Unreachable extends HubException {
        Unreachable(String message, Throwable cause) { super(message, cause); }
    }

    /** Tries of a metadata request that met no answer: a cached model is used soon rather than after the full backoff. */
    private static final int UNREACHABLE_ATTEMPTS = 2;
    private static final int BUFFER = 1 << 16;
    private static final int MAX_REDIRECTS = 10;
    /** Largest listing read: even repositories with thousands of files list in a few MB. */
    private static final long MAX_LISTING_BYTES = 64L << 20;

    private final HubEnvironment env;
    private final HttpClient http;
    private final int attempts;
    private final Duration backoff;
    private final String userAgent;

    HubClient(HubEnvironment env, int attempts, Duration backoff) {
        this.env = env;
        this.attempts = attempts;
        this.backoff = backoff;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(20)).build();
        this.userAgent = "lora-scripts; java/" + Runtime.version().feature();
    }

    URI endpoint() { return env.endpoint(); }

    // ---- the endpoints

    RepoInfo repoInfo(String repo, String revision) {
        URI uri = URI.create(env.endpoint() + "/api/models/" + repo + "/revision/" + encode(revision) + "?blobs=true");
        HttpResponse<byte[]> r = withRetries(repo, () -> sendOnce(uri, "GET", null, HttpResponse.BodyHandlers.ofByteArray()));
        if (r.statusCode() != 200) throw statusError(repo, revision, null, r.statusCode(), r.headers());
        try {
            if (r.body().length > MAX_LISTING_BYTES) throw new HubException(repo + ": the listing from " + env.endpoint() + " is larger than " + MAX_LISTING_BYTES + " bytes");
            JsonNode root = Json.parseLarge(r.body());
            String sha = root.path("sha").asText("");
            if (!HubId.isCommit(sha)) throw new HubException(repo + ": the listing from " + env.endpoint() + " has no commit hash ('sha')"
                    + "; is HF_ENDPOINT a Hub or a mirror of it?");
            List<RepoFile> files = new ArrayList<>();
            for (JsonNode s : root.path("siblings")) {
                String name = s.path("rfilename").asText(null);
                if (name == null || !safeRepoPath(name)) continue;
                JsonNode lfs = s.path("lfs");
                String sha256 = lfs.isObject() ? lfs.path("sha256").asText(lfs.path("oid").asText(null)) : null;
                long size = lfs.isObject() && lfs.has("size") ? lfs.path("size").asLong(-1) : s.path("size").asLong(-1);
                files.add(new RepoFile(name, size, s.path("blobId").asText(null), sha256));
            }
            return new RepoInfo(sha, files);
        } catch (Json.Malformed e) {
            throw new HubException(repo + ": unreadable listing from " + env.endpoint() + " (" + e.getMessage()
                    + "); is HF_ENDPOINT a Hub or a mirror of it?");
        }
    }

    /**
     * HEAD of a file, following only redirects on the endpoint's own host (a renamed repository), as
     * huggingface_hub does; the first answer that is not such a redirect carries the metadata.
     */
    FileMeta head(String repo, String revision, String file) {
        URI uri = resolveUri(repo, revision, file);
        HttpResponse<Void> r = withRetries(repo, () -> sendOnce(uri, "HEAD", null, HttpResponse.BodyHandlers.discarding()));
        for (int i = 0; i < MAX_REDIRECTS && isRedirect(r.statusCode()); i++) {
            URI next = location(r);
            if (!sameOrigin(next, env.endpoint())) break;
            HttpResponse<Void> cur = r;
            r = withRetries(repo, () -> sendOnce(location(cur), "HEAD", null, HttpResponse.BodyHandlers.discarding()));
        }
        int code = r.statusCode();
        if (code != 200 && !isRedirect(code)) throw statusError(repo, revision, file, code, r.headers());
        var h = r.headers();
        String commit = h.firstValue("X-Repo-Commit").orElse(null);
        if (commit == null || !HubId.isCommit(commit)) {
            throw new HubException(repo + "/" + file + ": the answer from " + env.endpoint() + " has no X-Repo-Commit header"
                    + "; is HF_ENDPOINT a Hub or a mirror of it?");
        }
        String etag = normalizeEtag(h.firstValue("X-Linked-Etag").or(() -> h.firstValue("ETag")).orElse(null));
        if (etag == null || !safeEtag(etag)) {
            throw new HubException(repo + "/" + file + ": the answer from " + env.endpoint() + " has no usable ETag");
        }
        long size = h.firstValue("X-Linked-Size").map(HubClient::parseLong)
                .orElseGet(() -> isRedirect(code) ? -1L : h.firstValueAsLong("Content-Length").orElse(-1L));
        URI where = isRedirect(code) ? location(r) : r.uri();
        return new FileMeta(commit, etag, size, where);
    }

    URI resolveUri(String repo, String revision, String file) {
        return URI.create(env.endpoint() + "/" + repo + "/resolve/" + encode(revision) + "/" + encodePath(file));
    }

    /**
     * Downloads {@code from} into {@code incomplete} (appending to what an earlier attempt left there
     * with a {@code Range} request), retrying network failures with backoff, then checks the size and,
     * when known, the sha256. A mismatch deletes the partial file and throws.
     */
    void download(String repo, String file, URI from, Path incomplete, long size, String sha256, String gitSha1, LongConsumer progress) {
        IOException last = null;
        for (int attempt = 0; attempt < attempts; attempt++) {
            if (attempt > 0) sleep(attempt);
            try {
                boolean complete = transfer(repo, file, from, incomplete, size, progress);
                last = null;
                if (complete) break;
            } catch (IOException e) {
                last = e;
            }
        }
        if (last != null) {
            throw new HubException(repo + "/" + file + ": download failed after " + attempts + " attempts (" + describe(last)
                    + "); run the command again to resume from " + sizeOf(incomplete) + " bytes, or check the network"
                    + " (HF_ENDPOINT=" + env.endpoint() + ")", last);
        }
        long got = sizeOf(incomplete);
        if (size >= 0 && got != size) {
            deleteQuietly(incomplete);
            throw new HubException(repo + "/" + file + ": downloaded " + got + " bytes, expected " + size + "; the partial file was"
                    + " deleted, run the command again");
        }
        String expected = sha256 != null ? sha256 : gitSha1;
        if (expected != null) {
            String actual = sha256 != null ? sha256(incomplete) : gitBlobSha1(incomplete);
            if (!actual.equals(expected)) {
                deleteQuietly(incomplete);
                throw new HubException(repo + "/" + file + ": " + (sha256 != null ? "sha256" : "git blob sha1") + " mismatch (expected "
                        + expected + ", got " + actual
                        + "): the download was refused and deleted; run the command again, and if it repeats the mirror"
                        + " (HF_ENDPOINT=" + env.endpoint() + ") serves a damaged file");
            }
        }
    }

    /** One attempt; true when the file is complete. Network failures throw IOException (retried). */
    private boolean transfer(String repo, String file, URI from, Path incomplete, long size, LongConsumer progress) throws IOException {
        long have = sizeOf(incomplete);
        if (size >= 0 && have == size) return true;
        if (size >= 0 && have > size) {
            Files.delete(incomplete);
            have = 0;
        }
        URI uri = from;
        HttpResponse<InputStream> r = null;
        for (int i = 0; i <= MAX_REDIRECTS; i++) {
            r = sendOnce(uri, "GET", have > 0 ? "bytes=" + have + "-" : null, HttpResponse.BodyHandlers.ofInputStream());
            if (!isRedirect(r.statusCode())) break;
            r.body().close();
            uri = location(r);
        }
        int code = r.statusCode();
        if (code == 416 && have > 0) {   // the range starts at or past the end: begin again
            r.body().close();
            Files.delete(incomplete);
            throw new IOException("the server refused to resume (HTTP 416)");
        }
        if (code == 429 || code >= 500) {
            r.body().close();
            throw new IOException("HTTP " + code + " from " + uri.getHost());
        }
        if (code != 200 && code != 206) {
            r.body().close();
            throw statusError(repo, null, file, code, r.headers());
        }
        boolean append = code == 206;
        String rangeStart = "bytes " + have + "-";
        if (append && !r.headers().firstValue("Content-Range").map(cr -> cr.startsWith(rangeStart)).orElse(false)) {
            r.body().close();   // a range other than the one asked for: start the file again
            Files.delete(incomplete);
            throw new IOException("the server answered the resume at byte " + have + " with another range");
        }
        if (!append && have > 0) progress.accept(-have);   // the server ignored the range: the bytes come again
        Files.createDirectories(incomplete.getParent());
        try (InputStream in = r.body();
             OutputStream out = Files.newOutputStream(incomplete, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] buf = new byte[BUFFER];
            long written = append ? have : 0;
            for (int n; (n = in.read(buf)) > 0; ) {
                if (size >= 0 && written + n > size) throw new HubException(repo + "/" + file + ": the server sent more than the "
                        + size + " bytes the listing gives");
                out.write(buf, 0, n);
                written += n;
                progress.accept(n);
            }
        }
        return size < 0 || sizeOf(incomplete) == size;
    }

    // ---- HTTP plumbing

    private interface Call<T> { HttpResponse<T> run() throws IOException; }

    /** Retries network errors, 429 and 5xx; a final network failure becomes one line. */
    private <T> HttpResponse<T> withRetries(String repo, Call<T> call) {
        IOException last = null;
        HttpResponse<T> response = null;
        int networkFailures = 0;
        for (int attempt = 0; attempt < attempts && networkFailures < UNREACHABLE_ATTEMPTS; attempt++) {
            if (attempt > 0) sleep(attempt);
            try {
                response = call.run();
                last = null;
                int code = response.statusCode();
                if (code != 429 && code < 500) return response;
            } catch (IOException e) {
                last = e;
                networkFailures++;
            }
        }
        if (last != null) {
            throw new Unreachable("cannot reach " + env.endpoint() + " for " + repo + " (" + describe(last) + "): check the network,"
                    + " set HF_ENDPOINT to a mirror, or set HF_HUB_OFFLINE=1 to use only the models already in " + env.cacheDir(), last);
        }
        return response;
    }

    private <T> HttpResponse<T> sendOnce(URI uri, String method, String range, HttpResponse.BodyHandler<T> body) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(2))
                .header("User-Agent", userAgent).header("Accept-Encoding", "identity")
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (range != null) b.header("Range", range);
        // the token only ever goes to the configured endpoint, never to the storage host a redirect names
        if (env.token().isPresent() && sameOrigin(uri, env.endpoint())) b.header("Authorization", "Bearer " + env.token().get());
        try {
            return http.send(b.build(), body);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException("download interrupted");
        } catch (IllegalArgumentException e) {
            throw new IOException("cannot resolve " + uri.getHost(), e);
        }
    }

    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getScheme().equalsIgnoreCase(b.getScheme()) && a.getHost() != null
                && a.getHost().equalsIgnoreCase(b.getHost()) && port(a) == port(b);
    }

    private static int port(URI u) {
        return u.getPort() >= 0 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
    }

    private static boolean isRedirect(int code) { return code == 301 || code == 302 || code == 303 || code == 307 || code == 308; }

    private static URI location(HttpResponse<?> r) {
        String loc = r.headers().firstValue("Location").orElseThrow(() -> new HubException("a redirect from " + r.uri().getHost()
                + " without a Location header"));
        try {
            return r.uri().resolve(loc);
        } catch (IllegalArgumentException e) {
            throw new HubException("a redirect from " + r.uri().getHost() + " to a malformed address: " + loc);
        }
    }

    private HubException statusError(String repo, String revision, String file, int code, java.net.http.HttpHeaders h) {
        String errorCode = h.firstValue("X-Error-Code").orElse("");
        String what = file == null ? repo : repo + "/" + file;
        if (errorCode.equals("RepoNotFound") || (code == 404 && errorCode.isEmpty() && file == null)) {
            // a mistyped local path reaches here too: the message speaks of both
            return new HubException(repo + ": no such file or folder here, and no such model on " + env.endpoint() + " (HTTP " + code
                    + "): check the path, or the name ORG/NAME as on the model's page" + (env.token().isEmpty() ? " (a private model also needs HF_TOKEN)" : ""));
        }
        if (errorCode.equals("RevisionNotFound")) {
            return new HubException(repo + " has no revision '" + (revision == null ? "?" : revision) + "' on " + env.endpoint()
                    + " (HTTP " + code + "): check the branch, tag or commit after @");
        }
        if (errorCode.equals("EntryNotFound") || code == 404) {
            return new HubException(what + " not found on " + env.endpoint() + " (HTTP " + code + "): check the file name"
                    + (revision == null ? "" : " and the revision '" + revision + "'"));
        }
        if (code == 401 || code == 403) {
            return new HubException(repo + ": access denied (HTTP " + code + "): the model is gated or private; accept the licence at "
                    + HubEnvironment.modelPage(repo) + " and set HF_TOKEN"
                    + (env.token().isPresent() ? " (the token from " + env.tokenSource() + " was refused)" : ""));
        }
        return new HubException(what + ": HTTP " + code + " from " + env.endpoint());
    }

    // ---- helpers

    static String normalizeEtag(String etag) {
        if (etag == null) return null;
        String e = etag.strip();
        if (e.startsWith("W/")) e = e.substring(2);
        if (e.startsWith("\"")) e = e.substring(1);
        if (e.endsWith("\"")) e = e.substring(0, e.length() - 1);
        return e.isEmpty() ? null : e;
    }

    /** An etag names a file in blobs/: it must not climb out of it. */
    static boolean safeEtag(String e) {
        return e.length() <= 128 && e.chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '-' || c == '_');
    }

    /** A repository path that stays inside the snapshot folder. */
    static boolean safeRepoPath(String p) {
        if (p.isEmpty() || p.startsWith("/") || p.contains("\\") || p.length() > 1000) return false;
        for (String part : p.split("/", -1)) if (part.isEmpty() || part.equals(".") || part.equals("..")) return false;
        return true;
    }

    private static String encode(String s) { return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20"); }

    private static String encodePath(String path) {
        StringBuilder b = new StringBuilder();
        for (String part : path.split("/")) {
            if (!b.isEmpty()) b.append('/');
            b.append(encode(part));
        }
        return b.toString();
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private void sleep(int attempt) {
        try {
            Thread.sleep(backoff.toMillis() << Math.min(attempt - 1, 6));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HubException("download interrupted");
        }
    }

    private static String describe(IOException e) {
        if (e instanceof HttpConnectTimeoutException) return "connection timed out";
        if (e instanceof HttpTimeoutException) return "timed out";
        if (e instanceof ConnectException) return "connection refused";
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
    }

    static long sizeOf(Path p) {
        try {
            return Files.exists(p) ? Files.size(p) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // nothing left to protect
        }
    }

    static String sha256(Path file) { return digest(file, "SHA-256", new byte[0]); }

    /** git's object id of a file: sha1 of {@code "blob " + size + "\0"} and the bytes, which the Hub gives small files as ETag. */
    static String gitBlobSha1(Path file) {
        return digest(file, "SHA-1", ("blob " + sizeOf(file) + "\0").getBytes(StandardCharsets.US_ASCII));
    }

    private static String digest(Path file, String algorithm, byte[] prefix) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance(algorithm);
            md.update(prefix);
            byte[] buf = new byte[BUFFER];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new HubException(file + ": cannot read the download back (" + e.getMessage() + ")");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
