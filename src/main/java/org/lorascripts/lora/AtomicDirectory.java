package org.lorascripts.lora;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Writes a whole folder so that it appears complete or not at all: everything goes to a hidden
 * temporary sibling, which is renamed to the target at the end. An existing target is moved aside
 * first and deleted only after the new one is in place; on failure the temporary folder is removed
 * and the old target is left (or put back).
 */
final class AtomicDirectory {
    private AtomicDirectory() {}

    @FunctionalInterface
    interface Filler {
        void fill(Path dir) throws IOException;
    }

    static void write(Path target, Filler filler) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        Path parent = abs.getParent();
        Files.createDirectories(parent);
        String name = abs.getFileName().toString();
        Path tmp = Files.createTempDirectory(parent, "." + name + ".tmp-");
        Path old = null;
        try {
            filler.fill(tmp);
            if (Files.exists(abs)) {
                old = parent.resolve("." + name + ".old-" + Long.toHexString(System.nanoTime()));
                move(abs, old);
            }
            try {
                move(tmp, abs);
            } catch (IOException e) {
                if (old != null) move(old, abs);
                old = null;
                throw e;
            }
        } finally {
            if (Files.exists(tmp)) deleteTree(tmp);
            if (old != null) deleteTree(old);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override public FileVisitResult visitFile(Path f, BasicFileAttributes a) throws IOException {
                Files.delete(f);
                return FileVisitResult.CONTINUE;
            }

            @Override public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) throw e;
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
