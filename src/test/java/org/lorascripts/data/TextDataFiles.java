package org.lorascripts.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Small helpers for text dataset tests: writing files and building expected id arrays. */
final class TextDataFiles {
    static final long IGNORE = TokenizedExample.IGNORE;

    private TextDataFiles() {}

    static Path write(Path dir, String name, String... lines) throws IOException {
        Path f = dir.resolve(name);
        Files.createDirectories(f.getParent());
        Files.writeString(f, String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
        return f;
    }

    static long[] cat(long[]... parts) {
        int n = 0;
        for (long[] p : parts) n += p.length;
        long[] out = new long[n];
        int at = 0;
        for (long[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    static long[] one(long id) { return new long[] {id}; }

    static long[] ignored(int n) {
        long[] a = new long[n];
        Arrays.fill(a, IGNORE);
        return a;
    }

    static long[] ignored(long[] like) { return ignored(like.length); }
}
