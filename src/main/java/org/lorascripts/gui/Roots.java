package org.lorascripts.gui;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The folders the web app may read and write: the working folder and those given with {@code --root}.
 * Every path a client names goes through {@link #resolve}: relative paths resolve against the working
 * folder, then the real path (symbolic links followed) must lie inside one root. A path that does not
 * exist yet (a YAML to save, an output folder) is checked through its nearest existing parent, so a link
 * there cannot lead outside either.
 */
public final class Roots {
    private final Path workDir;
    private final List<Path> roots;

    public Roots(Path workDir, List<Path> extra) {
        this.workDir = real(workDir);
        List<Path> all = new ArrayList<>();
        all.add(this.workDir);
        for (Path p : extra) all.add(real(workDir.resolve(p)));
        this.roots = List.copyOf(all);
    }

    private static Path real(Path p) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw new IllegalArgumentException("root folder " + p + " does not exist; create it or leave out --root " + p);
        }
    }

    public Path workDir() { return workDir; }

    public List<Path> roots() { return roots; }

    /** The checked real path of {@code name}; {@link Refused} when it is malformed or outside every root. */
    public Path resolve(String name) {
        if (name == null || name.isBlank()) throw new Refused("no path given");
        if (name.indexOf('\0') >= 0) throw new Refused("a path may not contain a NUL character");
        Path p;
        try {
            p = workDir.resolve(name).normalize();
        } catch (InvalidPathException e) {
            throw new Refused("not a valid path: " + name);
        }
        // the nearest existing ancestor's real path, plus the part that does not exist yet
        Path existing = p;
        Path rest = null;
        while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            rest = rest == null ? existing.getFileName() : existing.getFileName().resolve(rest);
            existing = existing.getParent();
        }
        if (existing == null) throw new Refused("outside the allowed folders: " + name);
        Path real;
        try {
            real = existing.toRealPath();
        } catch (IOException e) {  // a dangling link
            throw new Refused("outside the allowed folders (a broken link): " + name);
        }
        Path full = rest == null ? real : real.resolve(rest).normalize();
        for (Path root : roots) if (full.startsWith(root)) return full;
        throw new Refused("outside the allowed folders (" + String.join(", ", roots.stream().map(Path::toString).toList())
                + "): " + name + "; start the app with --root FOLDER to allow another folder");
    }

    /** A client named a path the app may not touch (answered with 403). */
    public static final class Refused extends RuntimeException {
        public Refused(String message) { super(message); }
    }
}
