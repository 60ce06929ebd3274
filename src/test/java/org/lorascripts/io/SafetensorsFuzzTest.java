package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.tensor.DType;

/**
 * Seeded mutations of small files from our writer. Every mutant must either open and read back
 * consistently (each tensor's bytes are exactly the bytes the header declares, and together they
 * cover the data section) or be refused with a SafetensorsFormatException whose one-line message
 * starts with the file name. Any other exception is a reader bug; the failure names the mutant
 * number and kind, which the fixed seed reproduces.
 */
class SafetensorsFuzzTest {
    private static final long SEED = 0x5AFE_7E45_0001L;
    private static final int MUTANTS = 600;

    @TempDir
    Path dir;

    private enum Kind {
        TRUNCATE, FLIP_HEADER_BIT, FLIP_LENGTH_BIT, SET_LENGTH, RANDOM_HEADER_BYTE, APPEND_DATA,
        DELETE_JSON_CHAR, SWAP_OFFSETS, SHIFT_TENSOR, CHANGE_OFFSET, CHANGE_DTYPE, CHANGE_SHAPE, DUPLICATE_KEY, RENAME,
        // Must keep the file valid: proves the "opens" branch is exercised, not just refusals.
        CHANGE_METADATA_VALUE
    }

    /** A tensor entry as our writer spells it: name, dtype, shape, begin, end. */
    private static final Pattern ENTRY = Pattern.compile(
            "\"((?:[^\"\\\\]|\\\\.)*)\":\\{\"dtype\":\"([^\"]*)\",\"shape\":\\[([^\\]]*)\\],\"data_offsets\":\\[(\\d+),(\\d+)\\]\\}");

    private record Base(String label, byte[] bytes) {}

    private record Mutant(Kind kind, String base, byte[] bytes) {}

    @Test
    void everyMutantOpensConsistentlyOrIsAFormatErrorNamingTheFile() throws Exception {
        Random rnd = new Random(SEED);
        List<Base> bases = bases(rnd);
        Map<Kind, int[]> outcomes = new EnumMap<>(Kind.class); // kind -> {opened, refused}
        for (int i = 0; i < MUTANTS; i++) {
            Kind kind = Kind.values()[i % Kind.values().length];
            Base base = bases.get(rnd.nextInt(bases.size()));
            byte[] bytes = mutate(kind, base.bytes(), rnd);
            // A quarter also get a byte-level hit on top, so damage combines.
            if (kind != Kind.CHANGE_METADATA_VALUE && rnd.nextInt(4) == 0) bytes = mutate(Kind.FLIP_HEADER_BIT, bytes, rnd);
            Mutant m = new Mutant(kind, base.label(), bytes);
            Path p = dir.resolve(String.format("m%03d-%s.safetensors", i, kind.name().toLowerCase(Locale.ROOT)));
            Files.write(p, m.bytes());
            boolean opened = check(i, m, p);
            outcomes.computeIfAbsent(kind, k -> new int[2])[opened ? 0 : 1]++;
            Files.delete(p);
        }
        for (Kind k : Kind.values()) {
            int[] o = outcomes.get(k);
            if (k == Kind.CHANGE_METADATA_VALUE) {
                assertEquals(0, o[1], k + " keeps files valid");
            } else {
                assertTrue(o[1] > 0, k + " never produced a refusal: the mutation does not bite");
            }
        }
        // Beyond the metadata edits, some damage must leave a valid file (equal-sized tensors swapped, a
        // dtype of the same width, a flipped bit in a metadata value): those have to open, not be refused.
        int opened = outcomes.values().stream().mapToInt(o -> o[0]).sum();
        assertTrue(opened > outcomes.get(Kind.CHANGE_METADATA_VALUE)[0], "only the metadata edits opened");
    }

    /** True when the mutant opened (and read back consistently), false when it was refused properly. */
    private static boolean check(int i, Mutant m, Path p) {
        String what = "mutant " + i + " (" + m.kind() + " of '" + m.base() + "', seed " + SEED + ")";
        List<byte[]> read = new ArrayList<>();
        List<TensorInfo> infos;
        long dataStart;
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            infos = f.tensors();
            dataStart = f.dataStart();
            assertEquals(infos.size(), f.names().size(), what);
            for (TensorInfo t : infos) {
                MemorySegment seg = f.data(t.name()); // touches every page of the mapping it covers
                read.add(seg.toArray(ValueLayout.JAVA_BYTE));
            }
        } catch (SafetensorsFormatException e) {
            assertTrue(e.getMessage().startsWith(p + ": "), what + ": message does not start with the file: " + e.getMessage());
            assertFalse(e.getMessage().contains("\n"), what + ": message is not one line: " + e.getMessage());
            return false;
        } catch (Throwable t) {
            return fail(what + " threw " + t, t);
        }
        long covered = 0;
        for (int k = 0; k < infos.size(); k++) {
            TensorInfo t = infos.get(k);
            assertEquals(t.numel() * t.dtype().byteSize, t.byteLength(), what + " " + t);
            assertEquals(dataStart + covered, t.byteOffset(), what + ": tensors do not follow each other at " + t);
            assertArrayEquals(Arrays.copyOfRange(m.bytes(), (int) t.byteOffset(), (int) (t.byteOffset() + t.byteLength())),
                    read.get(k), what + " " + t);
            covered += t.byteLength();
        }
        assertEquals(m.bytes().length - dataStart, covered, what + ": tensors do not cover the data section");
        return true;
    }

    private static List<Base> bases(Random rnd) throws Exception {
        List<Base> out = new ArrayList<>();
        out.add(new Base("mixed", write(new SafetensorsWriter()
                .add("down.weight", DType.F32, new long[] {2, 3}, random(rnd, 24))
                .add("up.weight", DType.F16, new long[] {4}, random(rnd, 8))
                .add("step", DType.I64, new long[] {1}, random(rnd, 8))
                .add("mask", DType.BOOL, new long[] {2}, new byte[] {0, 1})
                .add("ids", DType.U8, new long[] {3}, random(rnd, 3))
                .add("scale", DType.BF16, new long[] {2, 1}, random(rnd, 4))
                .putMetadata("format", "pt").putMetadata("ss_network_dim", "4"))));
        out.add(new Base("odd shapes", write(new SafetensorsWriter()
                .add("alpha", DType.F32, new long[0], random(rnd, 4))
                .add("empty", DType.F32, new long[] {0, 4}, new byte[0])
                .add("über.gewicht", DType.I8, new long[] {5}, random(rnd, 5))
                .add("emoji\uD83D\uDE00", DType.I16, new long[] {2}, random(rnd, 4)))));
        out.add(new Base("one big", write(new SafetensorsWriter()
                .add("w", DType.F64, new long[] {8, 8}, random(rnd, 512)).putMetadata("note", "x"))));
        out.add(new Base("metadata only", write(new SafetensorsWriter().putMetadata("k", "v"))));
        out.add(new Base("empty", write(new SafetensorsWriter())));
        return out;
    }

    private static byte[] write(SafetensorsWriter w) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        w.writeTo(Channels.newChannel(out));
        return out.toByteArray();
    }

    private static byte[] random(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    // ---- mutations ------------------------------------------------------------------------

    private static byte[] mutate(Kind kind, byte[] f, Random rnd) {
        byte[] b = f.clone();
        int n = headerLength(f);
        switch (kind) {
            case TRUNCATE -> { return Arrays.copyOf(f, rnd.nextInt(f.length)); }
            case FLIP_HEADER_BIT -> {
                if (n <= 0) return mutate(Kind.FLIP_LENGTH_BIT, f, rnd);
                b[8 + rnd.nextInt(n)] ^= (byte) (1 << rnd.nextInt(8));
                return b;
            }
            case FLIP_LENGTH_BIT -> {
                if (b.length == 0) return b; // a stacked hit on a file truncated to nothing
                b[rnd.nextInt(Math.min(8, b.length))] ^= (byte) (1 << rnd.nextInt(8));
                return b;
            }
            case SET_LENGTH -> {
                long[] choices = {0, 1, -1, -rnd.nextInt(1 << 20), Long.MIN_VALUE, Long.MAX_VALUE, 1L << 60, 100_000_001,
                        n - 1 - rnd.nextInt(8), n + 1 + rnd.nextInt(8), f.length - 8, f.length - 7, rnd.nextLong()};
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, choices[rnd.nextInt(choices.length)]);
                return b;
            }
            case RANDOM_HEADER_BYTE -> {
                if (n <= 0) return mutate(Kind.SET_LENGTH, f, rnd);
                b[8 + rnd.nextInt(n)] = (byte) rnd.nextInt(256);
                return b;
            }
            case APPEND_DATA -> { return Arrays.copyOf(f, f.length + 1 + rnd.nextInt(16)); }
            default -> {
                if (n < 0 || 8 + n > f.length) return mutate(Kind.FLIP_LENGTH_BIT, f, rnd);
                String header = new String(f, 8, n, StandardCharsets.UTF_8);
                String changed = mutateJson(kind, header, rnd);
                return changed == null ? mutate(Kind.RANDOM_HEADER_BYTE, f, rnd) : rebuild(changed, Arrays.copyOfRange(f, 8 + n, f.length));
            }
        }
    }

    /** The header text with one JSON-level change, or null when this header has nothing to change that way. */
    private static String mutateJson(Kind kind, String h, Random rnd) {
        List<Hit> entries = ENTRY.matcher(h).results().map(Hit::new).toList();
        Hit e = entries.isEmpty() ? null : entries.get(rnd.nextInt(entries.size()));
        switch (kind) {
            case DELETE_JSON_CHAR -> {
                List<Integer> at = new ArrayList<>();
                for (int i = 0; i < h.length(); i++) if ("{}[]\":,".indexOf(h.charAt(i)) >= 0) at.add(i);
                int i = at.get(rnd.nextInt(at.size()));
                return h.substring(0, i) + h.substring(i + 1);
            }
            case SWAP_OFFSETS -> {
                if (e == null) return null;
                int way = entries.size() == 1 ? 0 : rnd.nextInt(3);
                if (way == 0) return e.replace(h, 4, e.group(5), 5, e.group(4)); // [end, begin]
                Hit other = entries.get(rnd.nextInt(entries.size()));
                long eSpan = Long.parseLong(e.group(5)) - Long.parseLong(e.group(4));
                long oSpan = Long.parseLong(other.group(5)) - Long.parseLong(other.group(4));
                // way 1 swaps whole arrays (spans follow); way 2 swaps only where the tensors start, keeping
                // each one's length, which is what reaches the overlap and hole checks.
                long eBegin = Long.parseLong(other.group(4)), oBegin = Long.parseLong(e.group(4));
                String eEnd = way == 1 ? other.group(5) : Long.toString(eBegin + eSpan);
                String oEnd = way == 1 ? e.group(5) : Long.toString(oBegin + oSpan);
                String once = e.replace(h, 4, Long.toString(eBegin), 5, eEnd);
                if (other == e) return once;
                Hit again = ENTRY.matcher(once).results().map(Hit::new)
                        .filter(r -> r.group(1).equals(other.group(1))).findFirst().orElseThrow();
                return again.replace(once, 4, Long.toString(oBegin), 5, oEnd);
            }
            case SHIFT_TENSOR -> {
                // Moves a tensor without changing its length: overlaps, holes, or an end past the data.
                if (e == null) return null;
                long[] deltas = {-8, -4, -2, -1, 1, 2, 4, 8, 1L << 40};
                long d = deltas[rnd.nextInt(deltas.length)];
                long begin = Long.parseLong(e.group(4)) + d, end = Long.parseLong(e.group(5)) + d;
                return e.replace(h, 4, Long.toString(begin), 5, Long.toString(end));
            }
            case CHANGE_OFFSET -> {
                if (e == null) return null;
                int g = 4 + rnd.nextInt(2);
                long v = Long.parseLong(e.group(g));
                String[] choices = {"-1", Long.toString(v + 1), Long.toString(Math.max(0, v - 1)), "9223372036854775807",
                        "18446744073709551616", "1e3", "0", Long.toString(v + 8)};
                return e.replace(h, g, choices[rnd.nextInt(choices.length)]);
            }
            case CHANGE_DTYPE -> {
                if (e == null) return null;
                String[] choices = {"F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL", "F8_E4M3", "U16", "f32", "", "F32 "};
                return e.replace(h, 2, choices[rnd.nextInt(choices.length)]);
            }
            case CHANGE_SHAPE -> {
                if (e == null) return null;
                String[] dims = e.group(3).isEmpty() ? new String[0] : e.group(3).split(",");
                String[] choices = {"-1", "0", "1", "2", "4611686018427387904", "9223372036854775807", "99999999999999999999", "1.5", "\"2\""};
                List<String> d = new ArrayList<>(Arrays.asList(dims));
                if (d.isEmpty() || rnd.nextInt(4) == 0) d.add(choices[rnd.nextInt(choices.length)]);
                else d.set(rnd.nextInt(d.size()), choices[rnd.nextInt(choices.length)]);
                return e.replace(h, 3, String.join(",", d));
            }
            case DUPLICATE_KEY -> {
                int way = rnd.nextInt(3);
                if (way == 0 && e != null) return h.substring(0, e.end()) + "," + e.group() + h.substring(e.end());
                if (way == 1 && e != null) return h.replaceFirst("\"dtype\":\"([^\"]*)\"", "\"dtype\":\"$1\",\"dtype\":\"$1\"");
                Matcher meta = Pattern.compile("\"__metadata__\":\\{(\"(?:[^\"\\\\]|\\\\.)*\":\"(?:[^\"\\\\]|\\\\.)*\")").matcher(h);
                if (meta.find()) return h.substring(0, meta.end()) + "," + meta.group(1) + h.substring(meta.end());
                return e == null ? null : h.substring(0, e.end()) + "," + e.group() + h.substring(e.end());
            }
            case RENAME -> {
                if (e == null) return null;
                String[] choices = {"", "a\\u0001b", "x\\ny", "tab\\there", "\\u202Eevil", "\\uFFFD", "über", "\uD83D\uDE00",
                        "__metadata__", entries.get(rnd.nextInt(entries.size())).group(1)};
                return e.replace(h, 1, choices[rnd.nextInt(choices.length)]);
            }
            case CHANGE_METADATA_VALUE -> {
                Matcher meta = Pattern.compile("\"__metadata__\":\\{\"(?:[^\"\\\\]|\\\\.)*\":\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(h);
                if (!meta.find()) return h + "  "; // whitespace after the object: still the same header
                String[] choices = {"", "changed", "line\\nbreaks are fine in values", "\u00e9\u4e2d\uD83D\uDE00", "{\\\"json\\\": 1}"};
                return h.substring(0, meta.start(1)) + choices[rnd.nextInt(choices.length)] + h.substring(meta.end(1));
            }
            default -> throw new IllegalArgumentException(kind.toString());
        }
    }

    /** A regex match that can swap its groups' text in the string it came from. */
    private record Hit(MatchResult m) {
        String group() { return m.group(); }

        String group(int g) { return m.group(g); }

        int end() { return m.end(); }

        /** {@code h} with group {@code g} replaced (and optionally a later group {@code g2}). */
        String replace(String h, int g, String text) {
            return h.substring(0, m.start(g)) + text + h.substring(m.end(g));
        }

        String replace(String h, int g, String text, int g2, String text2) {
            return h.substring(0, m.start(g)) + text + h.substring(m.end(g), m.start(g2)) + text2 + h.substring(m.end(g2));
        }
    }

    private static int headerLength(byte[] f) {
        if (f.length < 8) return -1;
        long n = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return n < 0 || n > f.length - 8 ? -1 : (int) n;
    }

    /** A file with this header text (length field to match) and data section. */
    private static byte[] rebuild(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length).put(h).put(data).array();
    }
}
