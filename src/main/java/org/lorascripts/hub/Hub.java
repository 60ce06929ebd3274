package org.lorascripts.hub;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The one entry point for models named on the Hugging Face Hub: {@link #fetch} brings a repository
 * (the files lora-scripts needs, see {@link FileSelection}) or one file of it into the shared cache
 * ({@link HubCache}) and returns the local snapshot folder or file. Files already in the cache are
 * not downloaded again, whoever put them there; with {@code HF_HUB_OFFLINE=1} only the cache is used.
 * Several files download at once.
 */
public final class Hub {
    /** Files fetched at the same time. */
    static final int PARALLEL_FILES = 4;
    /** In-process monitors per lock file: a JVM may hold a file lock only once. */
    private static final java.util.concurrent.ConcurrentHashMap<Path, Object> LOCKS = new java.util.concurrent.ConcurrentHashMap<>();

    private final HubEnvironment env;
    private final HubCache cache;
    private final HubClient client;
    private final DownloadListener listener;

    public Hub(HubEnvironment env, DownloadListener listener) {
        this(env, listener, 5, Duration.ofSeconds(1));
    }

    /** {@code attempts} tries per request, waiting {@code backoff}, then twice as long, ... in between. */
    public Hub(HubEnvironment env, DownloadListener listener, int attempts, Duration backoff) {
        this.env = env;
        this.cache = new HubCache(env.cacheDir());
        this.client = new HubClient(env, attempts, backoff);
        this.listener = listener;
    }

    public HubEnvironment environment() { return env; }

    public HubCache cache() { return cache; }

    /**
     * A model name as a user typed it: an existing path, or a {@code builtin:} name, stays as it is
     * (empty); a Hub id is fetched and its local path returned; anything else is left to the caller's
     * own "not found" message (empty).
     */
    public Optional<Path> resolve(String name, Path baseDir, FileSelection selection) {
        if (name == null || name.startsWith("builtin:")) return Optional.empty();
        try {
            if (Files.exists(baseDir.resolve(name))) return Optional.empty();
        } catch (java.nio.file.InvalidPathException notAPath) {
            return Optional.empty();   // the caller's own check reports it
        }
        return HubId.parse(name).map(id -> fetch(id, selection));
    }

    /** The local snapshot folder of {@code id} (or the file it names), fetched when needed. */
    public Path fetch(HubId id, FileSelection selection) {
        try {
            if (env.offline()) return fromCache(id, selection);
            try {
                return download(id, selection);
            } catch (HubClient.Unreachable e) {
                // as huggingface_hub does: without the network, a model already in the cache is used as it is
                Optional<Path> cached = cachedOrEmpty(id, selection);
                if (cached.isEmpty()) throw e;
                listener.note("cannot reach " + env.endpoint() + "; using " + id + " from the cache (" + cached.get() + ")");
                return cached.get();
            }
        } catch (IOException e) {
            throw new HubException(id + ": cannot write to the Hub cache " + env.cacheDir() + " (" + e.getMessage()
                    + "): set HF_HUB_CACHE or HF_HOME to a writable folder", e);
        }
    }

    private Optional<Path> cachedOrEmpty(HubId id, FileSelection selection) {
        try {
            return Optional.of(fromCache(id, selection));
        } catch (HubException notThere) {
            return Optional.empty();
        }
    }

    private Path fromCache(HubId id, FileSelection selection) {
        String hint = ": HF_HUB_OFFLINE=1 allows only the cache; run ./lora download " + id.repo()
                + (id.revision().equals(HubId.MAIN) ? "" : " --revision " + id.revision())
                + " on a machine with network access and copy " + env.cacheDir() + " here, or unset HF_HUB_OFFLINE";
        String commit = cache.commitOf(id.repo(), id.revision())
                .orElseThrow(() -> new HubException(id + " is not in the Hub cache " + env.cacheDir() + hint));
        Path snapshot = cache.snapshot(id.repo(), commit);
        if (id.file().isPresent()) {
            return cache.cachedFile(id.repo(), commit, id.file().get())
                    .orElseThrow(() -> new HubException(id + " is not in the Hub cache " + env.cacheDir() + hint));
        }
        if (!Files.isDirectory(snapshot)) throw new HubException(id + " is not in the Hub cache " + env.cacheDir() + hint);
        List<String> present = new ArrayList<>();
        try (var files = Files.walk(snapshot)) {
            files.filter(Files::isRegularFile).forEach(p -> present.add(snapshot.relativize(p).toString().replace('\\', '/')));
        } catch (IOException e) {
            throw new HubException(snapshot + ": cannot read the cached model (" + e.getMessage() + ")");
        }
        if (present.isEmpty()) throw new HubException(id + " is not in the Hub cache " + env.cacheDir() + hint);
        return FileSelection.singleCheckpoint(present).map(snapshot::resolve).orElse(snapshot);
    }

    private Path download(HubId id, FileSelection selection) throws IOException {
        String repo = id.repo();
        if (id.file().isPresent()) {
            String file = id.file().get();
            HubClient.FileMeta meta = client.head(repo, id.revision(), file);
            Optional<Path> cached = cache.cachedFile(repo, meta.commit(), file);
            if (cached.isEmpty()) {
                String sha = isSha256(meta.etag()) ? meta.etag() : null;
                fetchAll(id.toString(), repo, meta.commit(), List.of(new Planned(file, meta.etag(), meta.size(), sha, meta)));
            }
            cache.writeRef(repo, id.revision(), meta.commit());
            return cache.snapshot(repo, meta.commit()).resolve(file);
        }
        HubClient.RepoInfo info = client.repoInfo(repo, id.revision());
        List<String> names = info.files().stream().map(HubClient.RepoFile::path).toList();
        List<String> wanted = selection.select(repo, names);
        List<Planned> todo = new ArrayList<>();
        for (HubClient.RepoFile f : info.files()) {
            if (!wanted.contains(f.path()) || cache.cachedFile(repo, info.commit(), f.path()).isPresent()) continue;
            String etag = f.etag();
            todo.add(new Planned(f.path(), etag != null && HubClient.safeEtag(etag) ? etag : null, f.size(), f.lfsSha256(), null));
        }
        fetchAll(id.toString(), repo, info.commit(), todo);
        cache.writeRef(repo, id.revision(), info.commit());
        Path snapshot = cache.snapshot(repo, info.commit());
        Files.createDirectories(snapshot);
        return FileSelection.singleCheckpoint(wanted).map(snapshot::resolve).orElse(snapshot);
    }

    /** A file to bring into the cache; etag null until a HEAD request says it. */
    private record Planned(String path, String etag, long size, String sha256, HubClient.FileMeta meta) {}

    private void fetchAll(String what, String repo, String commit, List<Planned> todo) throws IOException {
        if (todo.isEmpty()) return;
        cache.tagAsCache();
        long total = todo.stream().allMatch(p -> p.size() >= 0) ? todo.stream().mapToLong(Planned::size).sum() : -1;
        listener.started(what, todo.size(), total);
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(PARALLEL_FILES, todo.size()), r -> {
            Thread t = new Thread(r, "hub-download");
            t.setDaemon(true);
            return t;
        });
        boolean complete = false;
        try {
            List<Future<?>> running = new ArrayList<>();
            for (Planned p : todo) running.add(pool.submit(() -> {
                fetchOne(repo, commit, p);
                return null;
            }));
            for (Future<?> f : running) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    running.forEach(o -> o.cancel(true));
                    Throwable c = e.getCause();
                    if (c instanceof HubException h) throw h;
                    if (c instanceof IOException io) throw io;
                    throw new HubException(repo + ": download failed (" + c + ")", c);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new HubException("download interrupted");
                }
            }
            complete = true;
        } finally {
            pool.shutdownNow();
            listener.finished(complete);
        }
    }

    private void fetchOne(String repo, String commit, Planned p) throws IOException {
        HubClient.FileMeta meta = p.meta();
        String etag = p.etag();
        if (meta == null && etag == null) {
            meta = client.head(repo, commit, p.path());
            etag = meta.etag();
        }
        // LFS files are named by their sha256 (64 hex digits), others by their git blob sha1 (40 hex digits): both are checked
        String sha256 = p.sha256() != null ? p.sha256() : isSha256(etag) ? etag : null;
        Path blob = cache.blob(repo, etag);
        Path lock = cache.lockFile(repo, etag);
        Files.createDirectories(lock.getParent());
        // one thread (two files may share a blob) and one process at a time appends to ETAG.incomplete;
        // whoever waited finds the blob in place
        synchronized (LOCKS.computeIfAbsent(lock, k -> new Object())) {
            try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.WRITE); FileLock held = ch.lock()) {
                fetchBlob(repo, commit, p, meta, etag, sha256, blob);
            }
        }
        cache.link(repo, commit, p.path(), etag);
    }

    private void fetchBlob(String repo, String commit, Planned p, HubClient.FileMeta meta, String etag, String sha256, Path blob)
            throws IOException {
        if (!Files.isRegularFile(blob)) {
            Path incomplete = cache.incomplete(repo, etag);
            Files.createDirectories(blob.getParent());
            long have = HubClient.sizeOf(incomplete);
            if (have > 0 && (p.size() < 0 || have <= p.size())) listener.transferred(have);   // resumed bytes count as done
            var from = meta != null ? meta.location() : client.resolveUri(repo, commit, p.path());
            client.download(repo, p.path(), from, incomplete, p.size() >= 0 ? p.size() : meta != null ? meta.size() : -1,
                    sha256, sha256 == null && HubId.isCommit(etag) ? etag : null, listener::transferred);
            Files.move(incomplete, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } else {
            listener.transferred(Math.max(0, p.size()));
        }
    }

    static boolean isSha256(String s) {
        return s != null && s.length() == 64 && s.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    }
}
