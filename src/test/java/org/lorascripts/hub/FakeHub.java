package org.lorascripts.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A local stand-in for the Hub, serving its documented endpoints from memory: the listing
 * {@code GET /api/models/ORG/NAME/revision/REV?blobs=true} (siblings with {@code size}, {@code blobId}
 * and {@code lfs.sha256}), {@code HEAD|GET /ORG/NAME/resolve/REV/FILE} with {@code X-Repo-Commit} and
 * {@code ETag} (the git blob sha1) for small files, and for LFS files a 302 to a second server (another
 * host name and port, standing for the CDN) with {@code X-Linked-Etag} (sha256) and
 * {@code X-Linked-Size}; both answer {@code Range} requests with 206. Errors as the Hub sends them:
 * 401 + {@code X-Error-Code: RepoNotFound} for an unknown repository, 404 + {@code RevisionNotFound} /
 * {@code EntryNotFound}, 401/403 + {@code GatedRepo} for a gated repository's files without / with a wrong
 * token (its listing is public, as on the Hub). Faults to
 * inject: cut a file's first transfer after N bytes, serve damaged bytes. Every request is recorded.
 */
public final class FakeHub implements AutoCloseable {
    public record Request(String server, String method, String path, String authorization, String range) {}

    public static final class Repo {
        final String commit;
        final Map<String, byte[]> files = new LinkedHashMap<>();
        public String token;   // gated: this token is needed

        Repo(String commit) { this.commit = commit; }

        public Repo file(String name, byte[] bytes) { files.put(name, bytes); return this; }

        public Repo file(String name, String text) { return file(name, text.getBytes(StandardCharsets.UTF_8)); }
    }

    public final Map<String, Repo> repos = new ConcurrentHashMap<>();
    public final List<Request> requests = Collections.synchronizedList(new ArrayList<>());
    /** file name → bytes after which its next transfer is cut (once). */
    final Map<String, Integer> cutAfter = new ConcurrentHashMap<>();
    /** file names served with one byte flipped. */
    final Set<String> damaged = Collections.synchronizedSet(new HashSet<>());
    final AtomicInteger cuts = new AtomicInteger();
    /** The next this many requests to the endpoint get 503 (a busy Hub). */
    final AtomicInteger busy = new AtomicInteger();

    private final HttpServer hub;
    private final HttpServer cdn;

    public FakeHub() throws IOException {
        hub = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        cdn = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hub.createContext("/", this::hub);
        cdn.createContext("/", this::cdn);
        hub.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        cdn.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        hub.start();
        cdn.start();
    }

    /** The endpoint to put in HF_ENDPOINT: 127.0.0.1; the CDN is reached as "localhost" on another port. */
    public String endpoint() { return "http://127.0.0.1:" + hub.getAddress().getPort(); }

    String cdnOrigin() { return "http://localhost:" + cdn.getAddress().getPort(); }

    public Repo repo(String id, String commit) {
        Repo r = new Repo(commit);
        repos.put(id, r);
        return r;
    }

    /** Repository files served through the LFS redirect. */
    static boolean isLfs(String name) { return name.endsWith(".safetensors") || name.endsWith(".onnx"); }

    public static String sha256(byte[] b) { return hex("SHA-256", b); }

    /** git's blob id: sha1 of "blob LEN\0" + content, the ETag the Hub gives small files. */
    static String gitBlobSha1(byte[] b) {
        byte[] head = ("blob " + b.length + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[head.length + b.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(b, 0, all, head.length, b.length);
        return hex("SHA-1", all);
    }

    private static String hex(String alg, byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(alg).digest(b));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public List<Request> requests(String server, String method) {
        synchronized (requests) {
            return requests.stream().filter(r -> r.server().equals(server) && (method == null || r.method().equals(method))).toList();
        }
    }

    /** GET requests that carry file bytes (either server). */
    public long fileGets() {
        synchronized (requests) {
            return requests.stream().filter(r -> r.method().equals("GET") && (r.server().equals("cdn") || r.path().contains("/resolve/"))).count();
        }
    }

    private void record(String server, HttpExchange x) {
        requests.add(new Request(server, x.getRequestMethod(), x.getRequestURI().getRawPath(),
                x.getRequestHeaders().getFirst("Authorization"), x.getRequestHeaders().getFirst("Range")));
    }

    private void hub(HttpExchange x) throws IOException {
        record("hub", x);
        try (x) {
            if (busy.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                x.sendResponseHeaders(503, -1);
                return;
            }
            String path = URLDecoder.decode(x.getRequestURI().getRawPath(), StandardCharsets.UTF_8);
            if (path.startsWith("/api/models/")) {
                String[] p = path.substring("/api/models/".length()).split("/", 4);   // org, name, "revision", rev
                Repo repo = repos.get(p[0] + "/" + p[1]);
                if (repo == null) {
                    error(x, 401, "RepoNotFound");
                    return;
                }
                if (p.length < 4 || !p[2].equals("revision") || !(p[3].equals("main") || p[3].equals(repo.commit))) {
                    error(x, 404, "RevisionNotFound");
                    return;
                }
                StringBuilder json = new StringBuilder("{\"id\":\"" + p[0] + "/" + p[1] + "\",\"sha\":\"" + repo.commit + "\",\"siblings\":[");
                boolean first = true;
                for (var e : repo.files.entrySet()) {
                    byte[] b = e.getValue();
                    if (!first) json.append(',');
                    first = false;
                    json.append("{\"rfilename\":\"").append(e.getKey()).append("\",\"size\":").append(b.length)
                            .append(",\"blobId\":\"").append(gitBlobSha1(b)).append('"');
                    if (isLfs(e.getKey())) {
                        json.append(",\"lfs\":{\"sha256\":\"").append(sha256(b)).append("\",\"size\":").append(b.length)
                                .append(",\"pointerSize\":134}");
                    }
                    json.append('}');
                }
                json.append("]}");
                byte[] body = json.toString().getBytes(StandardCharsets.UTF_8);
                x.getResponseHeaders().set("Content-Type", "application/json");
                x.sendResponseHeaders(200, body.length);
                x.getResponseBody().write(body);
                return;
            }
            // /ORG/NAME/resolve/REV/FILE
            String[] p = path.substring(1).split("/", 5);
            if (p.length < 5 || !p[2].equals("resolve")) {
                x.sendResponseHeaders(404, -1);
                return;
            }
            Repo repo = repos.get(p[0] + "/" + p[1]);
            if (!authorized(x, repo)) return;
            if (!(p[3].equals("main") || p[3].equals(repo.commit))) {
                error(x, 404, "RevisionNotFound");
                return;
            }
            byte[] b = repo.files.get(p[4]);
            if (b == null) {
                error(x, 404, "EntryNotFound");
                return;
            }
            var h = x.getResponseHeaders();
            h.set("X-Repo-Commit", repo.commit);
            if (isLfs(p[4])) {
                h.set("X-Linked-Etag", "\"" + sha256(b) + "\"");
                h.set("X-Linked-Size", Long.toString(b.length));
                h.set("ETag", "\"" + gitBlobSha1(b) + "\"");   // the pointer file's etag, which clients must not use
                h.set("Location", cdnOrigin() + "/repos/" + sha256(b) + "?file=" + p[4] + "&repo=" + p[0] + "--" + p[1]);
                x.sendResponseHeaders(302, -1);
                return;
            }
            h.set("ETag", "\"" + gitBlobSha1(b) + "\"");
            serve(x, p[4], b);
        }
    }

    private void cdn(HttpExchange x) throws IOException {
        record("cdn", x);
        try (x) {
            String query = x.getRequestURI().getQuery();
            String file = null, repoId = null;
            for (String kv : query == null ? new String[0] : query.split("&")) {
                if (kv.startsWith("file=")) file = kv.substring(5);
                if (kv.startsWith("repo=")) repoId = kv.substring(5).replace("--", "/");
            }
            Repo repo = repoId == null ? null : repos.get(repoId);
            byte[] b = repo == null || file == null ? null : repo.files.get(file);
            if (b == null) {
                x.sendResponseHeaders(404, -1);
                return;
            }
            serve(x, file, b);
        }
    }

    private boolean authorized(HttpExchange x, Repo repo) throws IOException {
        if (repo == null) {
            error(x, 401, "RepoNotFound");
            return false;
        }
        if (repo.token == null) return true;
        String auth = x.getRequestHeaders().getFirst("Authorization");
        if (auth == null) {
            error(x, 401, "GatedRepo");
            return false;
        }
        if (!auth.equals("Bearer " + repo.token)) {
            error(x, 403, "GatedRepo");
            return false;
        }
        return true;
    }

    private static void error(HttpExchange x, int code, String errorCode) throws IOException {
        x.getResponseHeaders().set("X-Error-Code", errorCode);
        x.sendResponseHeaders(code, -1);
    }

    /** 200 or, for "Range: bytes=N-", 206 from N; a HEAD gets the headers only. */
    private void serve(HttpExchange x, String file, byte[] content) throws IOException {
        byte[] b = content;
        if (damaged.contains(file)) {
            b = content.clone();
            b[b.length / 2] ^= 0x5a;
        }
        long from = 0;
        String range = x.getRequestHeaders().getFirst("Range");
        if (range != null && range.startsWith("bytes=") && range.endsWith("-")) from = Long.parseLong(range.substring(6, range.length() - 1));
        if (from > b.length) {
            x.sendResponseHeaders(416, -1);
            return;
        }
        int len = (int) (b.length - from);
        if (from > 0) x.getResponseHeaders().set("Content-Range", "bytes " + from + "-" + (b.length - 1) + "/" + b.length);
        x.getResponseHeaders().set("Accept-Ranges", "bytes");
        if (x.getRequestMethod().equals("HEAD")) {
            x.getResponseHeaders().set("Content-Length", Integer.toString(len));
            x.sendResponseHeaders(from > 0 ? 206 : 200, -1);
            return;
        }
        x.sendResponseHeaders(from > 0 ? 206 : 200, len);
        OutputStream out = x.getResponseBody();
        Integer cut = cutAfter.remove(file);
        if (cut != null && cut < len) {
            out.write(b, (int) from, cut);
            out.flush();
            cuts.incrementAndGet();
            throw new IOException("cut on purpose");   // the server drops the connection with the body unfinished
        }
        out.write(b, (int) from, len);
    }

    /** Writes the repository's files into {@code dir} (to compare with what a download produced). */
    static void write(Repo repo, Path dir) throws IOException {
        for (var e : repo.files.entrySet()) {
            Path p = dir.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, e.getValue());
        }
    }

    @Override public void close() {
        hub.stop(0);
        cdn.stop(0);
    }
}
