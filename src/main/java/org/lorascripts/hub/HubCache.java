package org.lorascripts.hub;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * The Hub cache in {@code huggingface_hub}'s layout, so that diffusers/transformers and lora-scripts
 * reuse each other's downloads:
 * <pre>
 * CACHE/models--ORG--NAME/blobs/ETAG                       the file's bytes, named by its etag
 *                                                          (sha256 of LFS files, git blob sha1 of others)
 * CACHE/models--ORG--NAME/blobs/ETAG.incomplete            a download in progress (resumed with a range request)
 * CACHE/models--ORG--NAME/snapshots/COMMIT/PATH            relative symlink to ../../blobs/ETAG (deeper paths: more ../)
 * CACHE/models--ORG--NAME/refs/REVISION                    the commit hash a branch or tag pointed at (no newline)
 * </pre>
 */
public final class HubCache {
    private final Path root;

    public HubCache(Path root) { this.root = root; }

    public Path root() { return root; }

    /** {@code models--org--name}, as {@code huggingface_hub.file_download.repo_folder_name} names it. */
    public static String folderName(String repo) { return "models--" + repo.replace("/", "--"); }

    public Path repoDir(String repo) { return root.resolve(folderName(repo)); }

    public Path blob(String repo, String etag) { return repoDir(repo).resolve("blobs").resolve(etag); }

    public Path incomplete(String repo, String etag) { return repoDir(repo).resolve("blobs").resolve(etag + ".incomplete"); }

    public Path snapshot(String repo, String commit) { return repoDir(repo).resolve("snapshots").resolve(commit); }

    public Path ref(String repo, String revision) { return repoDir(repo).resolve("refs").resolve(revision); }

    /** The commit a revision names: itself when it is a commit hash, else what {@code refs/REVISION} records. */
    public Optional<String> commitOf(String repo, String revision) {
        if (HubId.isCommit(revision)) return Optional.of(revision);
        Path ref = ref(repo, revision);
        try {
            if (!Files.isRegularFile(ref) || Files.size(ref) > 256) return Optional.empty();
            String c = Files.readString(ref, StandardCharsets.UTF_8).strip();
            return HubId.isCommit(c) ? Optional.of(c) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Records {@code revision -> commit} (atomically; nothing written when it is already so or the revision is the commit). */
    public void writeRef(String repo, String revision, String commit) throws IOException {
        if (revision.equals(commit)) return;
        Path ref = ref(repo, revision);
        if (commitOf(repo, revision).filter(commit::equals).isPresent()) return;
        Files.createDirectories(ref.getParent());
        Path tmp = ref.resolveSibling(ref.getFileName() + "." + UUID.randomUUID().toString().substring(0, 8) + ".tmp");
        Files.writeString(tmp, commit, StandardCharsets.UTF_8);
        Files.move(tmp, ref, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The snapshot entry of {@code file} at {@code commit}, when it exists and its blob is there. */
    public Optional<Path> cachedFile(String repo, String commit, String file) {
        Path p = snapshot(repo, commit).resolve(file);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();   // follows the link: a dangling link is not cached
    }

    /**
     * Points {@code snapshots/COMMIT/FILE} at the blob with a relative symlink, as huggingface_hub's
     * {@code _create_symlink} does ({@code os.path.relpath(blob, dirname(link))}).
     */
    public Path link(String repo, String commit, String file, String etag) throws IOException {
        Path link = snapshot(repo, commit).resolve(file);
        Path blob = blob(repo, etag);
        Files.createDirectories(link.getParent());
        Path target = link.getParent().relativize(blob);
        Files.deleteIfExists(link);
        try {
            Files.createSymbolicLink(link, target);
        } catch (FileAlreadyExistsException raced) {
            if (!Files.isSymbolicLink(link) || !Files.readSymbolicLink(link).equals(target)) throw raced;
        } catch (UnsupportedOperationException | IOException noLinks) {
            if (Files.exists(link, LinkOption.NOFOLLOW_LINKS)) throw noLinks;
            Files.copy(blob, link);   // a file system without symlinks: a copy, as huggingface_hub falls back to
        }
        return link;
    }

    /**
     * {@code org/name} when {@code dir} is a snapshot folder of a Hub cache
     * ({@code .../models--org--name/snapshots/COMMIT}), whoever downloaded it; else empty. Adapters record
     * this name as their base model, as those trained by Python tools on the same model do.
     */
    public static Optional<String> repoIdOf(Path dir) {
        Path p = dir.toAbsolutePath().normalize();
        Path snapshots = p.getParent(), repoDir = snapshots == null ? null : snapshots.getParent();
        if (repoDir == null || p.getFileName() == null || !HubId.isCommit(p.getFileName().toString())
                || !snapshots.getFileName().toString().equals("snapshots")) return Optional.empty();
        String folder = repoDir.getFileName().toString();
        String[] parts = folder.split("--", -1);
        if (parts.length != 3 || !parts[0].equals("models")) return Optional.empty();
        String id = parts[1] + "/" + parts[2];
        return HubId.isRepo(id) ? Optional.of(id) : Optional.empty();
    }

    /** {@code .locks/models--org--name/ETAG.lock}, where huggingface_hub keeps its download locks. */
    public Path lockFile(String repo, String etag) { return root.resolve(".locks").resolve(folderName(repo)).resolve(etag + ".lock"); }

    /**
     * Marks the cache root as a cache (https://bford.info/cachedir/), as huggingface_hub does, so
     * backup tools skip it; nothing happens when the tag is there or cannot be written.
     */
    public void tagAsCache() {
        Path tag = root.resolve("CACHEDIR.TAG");
        if (Files.exists(tag)) return;
        try {
            Files.createDirectories(root);
            Path tmp = root.resolve("CACHEDIR.TAG." + UUID.randomUUID().toString().substring(0, 8) + ".tmp");
            Files.writeString(tmp, "Signature: 8a477f597d28d172789f06886806bc55\n"
                    + "# This file is a cache directory tag (Hugging Face Hub models, shared by lora-scripts and huggingface_hub).\n"
                    + "# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n", StandardCharsets.UTF_8);
            Files.move(tmp, tag, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException ignored) {
            // a read-only cache still serves what it holds
        }
    }

    /** Bytes under the cache (blobs and partial downloads; links count nothing). */
    public long sizeBytes() {
        if (!Files.isDirectory(root)) return 0;
        long[] total = {0};
        try (Stream<Path> all = Files.walk(root)) {
            all.forEach(p -> {
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                    if (a.isRegularFile()) total[0] += a.size();
                } catch (IOException ignored) {
                    // a file removed while walking counts nothing
                }
            });
        } catch (IOException | UncheckedIOException e) {
            return total[0];
        }
        return total[0];
    }
}
