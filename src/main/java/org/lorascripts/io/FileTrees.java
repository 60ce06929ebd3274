package org.lorascripts.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * File-or-folder operations checkpoints need to be crash-safe: a folder appears under its final
 * name only complete and on disk, and disappears by first leaving that name.
 */
public final class FileTrees {
    public static final String TMP_MARK = ".tmp-";

    private FileTrees() {}

    /** A fresh sibling name {@code <name>.tmp-<random>}, which stray-cleanup recognises. */
    public static Path tempSibling(Path target) {
        return target.resolveSibling(target.getFileName() + TMP_MARK + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    }

    public static boolean isTemp(Path p) { return p.getFileName().toString().contains(TMP_MARK); }

    /** Forces every regular file below {@code root} (or root itself) and the folders to disk. */
    public static void fsyncTree(Path root) throws IOException {
        if (Files.isRegularFile(root)) {
            try (FileChannel ch = FileChannel.open(root, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (Files.isRegularFile(p)) {
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                        ch.force(true);
                    }
                } else if (Files.isDirectory(p)) {
                    fsyncDirectory(p);
                }
            }
        }
    }

    /** Makes renames inside {@code dir} durable; best effort where a folder cannot be opened. */
    public static void fsyncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // the files themselves are forced; only the directory entry's durability is at stake
        }
    }

    /**
     * Moves a complete {@code source} (file or folder) to {@code target}. An existing target is first
     * renamed to a temp name and deleted afterwards, so at no point does {@code target} hold a mix.
     */
    public static void replace(Path source, Path target) throws IOException {
        Path old = null;
        if (Files.exists(target)) {
            old = tempSibling(target);
            move(target, old);
        }
        move(source, target);
        fsyncDirectory(target.toAbsolutePath().getParent());
        if (old != null) deleteTree(old);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    /** Copies a file or folder to {@code target} atomically (temp copy, fsync, rename). */
    public static void copyAtomically(Path source, Path target) throws IOException {
        Path tmp = tempSibling(target);
        try {
            copyTree(source, tmp);
            fsyncTree(tmp);
            replace(tmp, target);
        } finally {
            deleteTree(tmp);
        }
    }

    private static void copyTree(Path source, Path target) throws IOException {
        if (!Files.isDirectory(source)) {
            Files.copy(source, target);
            return;
        }
        Files.walkFileTree(source, new SimpleFileVisitor<>() {
            @Override public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Files.createDirectories(target.resolve(source.relativize(dir).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.copy(file, target.resolve(source.relativize(file).toString()));
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Deletes a file or folder tree; absent is fine. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) return FileVisitResult.CONTINUE;
                throw e;
            }

            @Override public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) throw e;
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** "No space left on device" rather than a bare path, which is all some IOExceptions carry. */
    public static String describe(Throwable e) {
        if (e instanceof java.nio.file.FileSystemException f) {
            String reason = f.getReason() != null ? f.getReason() : e.getClass().getSimpleName().replace("Exception", "");
            return reason + (f.getFile() != null ? " (" + f.getFile() + ")" : "");
        }
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
    }

    /** Fills a folder in place of {@code target}: it appears complete or not at all. */
    @FunctionalInterface
    public interface Filler {
        void fill(Path dir) throws IOException;
    }

    /**
     * Writes a whole folder atomically: {@code filler} fills a temporary sibling, which is synced and
     * then replaces {@code target} (an existing target is moved aside first and deleted only after).
     * On failure the temporary folder is removed and an existing target is left as it was.
     */
    public static void writeDirectory(Path target, Filler filler) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        Files.createDirectories(abs.getParent());
        Path tmp = tempSibling(abs);
        try {
            Files.createDirectories(tmp);
            filler.fill(tmp);
            fsyncTree(tmp);
            replace(tmp, abs);
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
        }
    }
}
