package org.lorascripts.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.lorascripts.ffi.NativeCache;

/**
 * The pretrained demo models that ship inside the jar ({@code demo-models/} of the repository):
 * each file is copied once into {@code NativeCache.root()/models/<folder>-<sha prefix>/} and checked
 * against the sha256 recorded in {@code demo-models/SHA256SUMS}, at the copy and again at every
 * load, so a damaged cache or a corrupted jar fails with a clear line instead of loading garbage.
 * A file may ship gzip-compressed as {@code NAME.gz}; SHA256SUMS records the sum of {@code NAME}.
 */
public final class BundledModels {
    private BundledModels() {}

    static final String ROOT = "demo-models/";
    static final String SUMS = ROOT + "SHA256SUMS";

    /**
     * The cached copy of the bundled folder {@code folder} (e.g. {@code tiny-llama}) holding
     * {@code files}, each verified; written on first use.
     */
    public static Path folder(String folder, List<String> files) throws IOException {
        Map<String, String> sums = sums();
        StringBuilder key = new StringBuilder();
        for (String f : files) key.append(expected(sums, folder + "/" + f));
        Path dir = NativeCache.root().resolve("models").resolve(folder + "-" + sha256(key.toString().getBytes(StandardCharsets.UTF_8)).substring(0, 12));
        Files.createDirectories(dir);
        for (String f : files) ensure(dir.resolve(f), folder + "/" + f, expected(sums, folder + "/" + f));
        return dir;
    }

    /** The cached, verified copy of one bundled file, e.g. {@code tiny-sd/tiny-sd.safetensors}. */
    public static Path file(String path) throws IOException {
        String sha = expected(sums(), path);
        String name = path.substring(path.lastIndexOf('/') + 1);
        Path dir = NativeCache.root().resolve("models").resolve(sha.substring(0, 12));
        Files.createDirectories(dir);
        Path target = dir.resolve(name);
        ensure(target, path, sha);
        return target;
    }

    /** The recorded sha256 of a bundled file (hex). */
    public static String sha256Of(String path) throws IOException { return expected(sums(), path); }

    private static void ensure(Path target, String resource, String sha) throws IOException {
        if (Files.isRegularFile(target)) {
            String actual = sha256(target);
            if (actual.equals(sha)) return;
            // a truncated or edited cache copy: replace it from the jar
            Files.delete(target);
        }
        AtomicFileWriter.write(target, out -> {
            MessageDigest md = digest();
            try (InputStream in = open(ROOT + resource); DigestInputStream din = new DigestInputStream(in, md)) {
                din.transferTo(out);
            }
            String actual = HexFormat.of().formatHex(md.digest());
            if (!actual.equals(sha)) {
                throw new IOException("the bundled demo model " + resource + " is damaged (sha256 " + actual + ", expected " + sha
                        + "); rebuild the application (./lora rebuilds target/ when sources change, or run 'mvn package')");
            }
        });
    }

    /**
     * The resource, or its gzip-compressed form {@code resource.gz} decompressed on the fly: large files
     * ship compressed (the unused rows of a token embedding are zeros), the cache holds them as they are.
     */
    private static InputStream open(String resource) throws IOException {
        ClassLoader cl = BundledModels.class.getClassLoader();
        InputStream in = cl.getResourceAsStream(resource);
        if (in != null) return in;
        InputStream gz = cl.getResourceAsStream(resource + ".gz");
        if (gz != null) return new GZIPInputStream(gz, 1 << 16);
        throw new IOException("the demo model " + resource + " is not in this build; rebuild with 'mvn package'");
    }

    private static Map<String, String> sums() throws IOException {
        Map<String, String> m = new LinkedHashMap<>();
        try (InputStream in = open(SUMS)) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String l = line.strip();
                if (l.isEmpty() || l.startsWith("#")) continue;
                String[] p = l.split("\\s+\\*?", 2);
                if (p.length == 2 && p[0].length() == 64) m.put(p[1], p[0].toLowerCase(java.util.Locale.ROOT));
            }
        }
        return m;
    }

    private static String expected(Map<String, String> sums, String path) throws IOException {
        String sha = sums.get(path);
        if (sha == null) throw new IOException(SUMS + " records no sha256 for " + path);
        return sha;
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md = digest();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String sha256(byte[] bytes) { return HexFormat.of().formatHex(digest().digest(bytes)); }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new UncheckedIOException(new IOException("this Java runtime has no SHA-256", e));
        }
    }
}
