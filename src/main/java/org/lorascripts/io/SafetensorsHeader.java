package org.lorascripts.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.lorascripts.tensor.DType;

/**
 * The parsed and validated JSON header of one safetensors file. Validation follows the
 * reference Rust implementation ({@code Metadata::validate} and {@code read_metadata}): sizes
 * must match shape * dtype, and the tensors must tile the data section exactly, with no
 * overlaps, no holes and no trailing bytes. Unknown keys inside a tensor entry are ignored, as
 * serde does there. On top of the reference, tensor names must be non-empty and free of control
 * characters (see {@link #nameProblem}).
 *
 * <p>Reading happens in two steps so that the JSON layer can be replaced without touching the
 * rules: {@link #parse} only maps JSON types onto plain {@link Entry} values, and
 * {@link #validate} makes every structural decision on those values. Duplicate keys are the one
 * thing a map-shaped JSON tree cannot hand over, so the JSON parser must keep rejecting them
 * (SafetensorsCorruptFileTest pins this for tensor names, entry fields and metadata keys). The
 * JSON is read by {@link Json#parseLarge}, whose limits admit any header up to
 * {@link SafetensorsFile#MAX_HEADER_BYTES}.
 *
 * @param tensors  in data-offset order (the order the reference writer lays them out)
 * @param byName   the same tensors, same order
 * @param metadata {@code __metadata__}, in file order; empty when absent
 */
record SafetensorsHeader(List<TensorInfo> tensors, Map<String, TensorInfo> byName, Map<String, String> metadata) {

    static final String METADATA_KEY = "__metadata__";

    /** Longest name or value quoted in a message, so that a hostile header cannot flood the terminal. */
    private static final int QUOTE_LIMIT = 120;

    /**
     * One tensor entry as the header spells it, before any check beyond JSON types.
     *
     * @param dataOffsets relative to the data section, any length (validate wants exactly 2)
     */
    record Entry(String name, String dtype, long[] shape, long[] dataOffsets) {}

    /**
     * The header length from the 8-byte prefix, checked before anything is allocated for it.
     *
     * @param lengthField the prefix as read; unsigned on disk, so a huge value arrives negative
     * @param fileSize    bytes in the whole file
     */
    static long headerLength(String file, long lengthField, long fileSize) throws SafetensorsFormatException {
        if (Long.compareUnsigned(lengthField, SafetensorsFile.MAX_HEADER_BYTES) > 0) {
            throw corrupt(file, "header length " + Long.toUnsignedString(lengthField) + " bytes exceeds the "
                    + SafetensorsFile.MAX_HEADER_BYTES + "-byte limit; the file is corrupt or not a safetensors file");
        }
        if (lengthField > fileSize - 8) {
            throw corrupt(file, "header length " + lengthField + " bytes runs past the end of the file (" + (fileSize - 8)
                    + " bytes after the length); the file is truncated or not a safetensors file");
        }
        // Said apart from "not valid JSON" because a zero-filled file (a preallocated, never
        // completed download) is the common way to get here.
        if (lengthField < 2) {
            throw corrupt(file, "header length is " + lengthField + " bytes, too short for the smallest header '{}'; "
                    + "the file is zero-filled, corrupt or not a safetensors file");
        }
        return lengthField;
    }

    /**
     * @param file      how to name the file in messages
     * @param dataStart absolute file offset of the data section (8 + header length)
     * @param dataSize  bytes in the data section
     */
    static SafetensorsHeader parse(String file, byte[] header, long dataStart, long dataSize)
            throws SafetensorsFormatException {
        JsonNode root;
        try {
            root = Json.parseLarge(header);
        } catch (Json.Malformed e) {
            // Most errors have a byte; an unpaired surrogate escape is named by its JSON pointer instead.
            String where = e.offset() >= 0 ? " of the header (file offset " + (8 + e.offset()) + ")" : " in the header";
            throw corrupt(file, "header is not valid JSON: " + e.getMessage() + where
                    + "; the file is corrupt or not a safetensors file");
        }
        if (!(root instanceof ObjectNode obj)) {
            throw corrupt(file, "header must be a JSON object, found " + Json.typeName(root)
                    + "; the file is corrupt or not a safetensors file");
        }
        Map<String, String> metadata = Map.of();
        List<Entry> entries = new ArrayList<>(obj.size());
        for (Map.Entry<String, JsonNode> e : obj.properties()) {
            if (e.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(file, e.getValue());
            } else {
                entries.add(parseEntry(file, e.getKey(), e.getValue()));
            }
        }
        return validate(file, entries, metadata, dataStart, dataSize);
    }

    /**
     * Every structural rule, on plain values: names, dtypes, shapes, byte counts, offsets, and
     * that the tensors tile the data section. Entries may come in any order.
     */
    static SafetensorsHeader validate(String file, List<Entry> entries, Map<String, String> metadata,
            long dataStart, long dataSize) throws SafetensorsFormatException {
        List<TensorInfo> tensors = new ArrayList<>(entries.size());
        Set<String> seen = new HashSet<>();
        for (Entry e : entries) {
            String problem = nameProblem(e.name());
            if (problem != null) {
                throw corrupt(file, "tensor name " + quote(e.name()) + " " + problem + " (data_offsets "
                        + list(e.dataOffsets()) + "); the file is corrupt or was written by a broken tool");
            }
            // Unreachable through Json, which refuses duplicate keys; here for a JSON layer that reports them.
            if (!seen.add(e.name())) throw corrupt(file, "tensor " + quote(e.name()) + " appears twice in the header; the file is corrupt");
            tensors.add(validateEntry(file, e, dataStart, dataSize));
        }
        tensors.sort(Comparator.comparingLong(TensorInfo::byteOffset).thenComparingLong(TensorInfo::byteLength));
        checkTiling(file, tensors, dataStart, dataSize);
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : tensors) byName.put(t.name(), t);
        return new SafetensorsHeader(List.copyOf(tensors), Collections.unmodifiableMap(byName),
                Collections.unmodifiableMap(new LinkedHashMap<>(metadata)));
    }

    private static TensorInfo validateEntry(String file, Entry e, long dataStart, long dataSize)
            throws SafetensorsFormatException {
        String what = "tensor " + quote(e.name());
        DType dtype = DType.fromSafetensorsName(e.dtype());
        if (dtype == null) {
            throw corrupt(file, what + " has unsupported dtype " + quote(e.dtype()) + " (supported: "
                    + supportedDTypes() + "); convert the file to one of these");
        }
        long[] shape = e.shape();
        long[] offsets = e.dataOffsets();
        checkNonNegative(file, what, "shape", shape);
        checkNonNegative(file, what, "data_offsets", offsets);
        if (offsets.length != 2 || offsets[0] > offsets[1]) {
            throw corrupt(file, what + " data_offsets must be [begin, end] with begin <= end, found "
                    + list(offsets) + "; the file is corrupt");
        }
        long bytes;
        try {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            bytes = Math.multiplyExact(n, (long) dtype.byteSize);
        } catch (ArithmeticException overflow) {
            throw corrupt(file, what + " is " + dtype.safetensorsName + " with shape " + list(shape)
                    + ", which overflows a 64-bit byte count; the file is corrupt");
        }
        long span = offsets[1] - offsets[0];
        if (span != bytes) {
            throw corrupt(file, what + " is " + dtype.safetensorsName + " with shape " + list(shape)
                    + " (" + bytes + " bytes) but data_offsets " + list(offsets) + " span " + span
                    + " bytes; the file is corrupt");
        }
        if (offsets[1] > dataSize) {
            throw corrupt(file, what + " data_offsets " + list(offsets) + " end past the data section ("
                    + dataSize + " bytes); the file is truncated or corrupt");
        }
        return new TensorInfo(e.name(), dtype, shape, dataStart + offsets[0], bytes);
    }

    /**
     * Why {@code name} cannot name a tensor, or null when it can. Empty names and names holding
     * characters that do not print (controls, line breaks, bidirectional overrides, noncharacters,
     * the U+FFFD left behind by a failed decoding) come from broken writers or damaged files, and
     * would garble every message and listing that shows them. Any other Unicode is fine.
     */
    static String nameProblem(String name) {
        if (name.isEmpty()) return "is empty";
        int at = 0; // counted in characters as a person sees them, not UTF-16 units
        for (int i = 0; i < name.length(); at++) {
            int cp = name.codePointAt(i);
            String kind = unprintable(cp);
            if (kind != null) return "contains " + kind + " " + codePoint(cp) + " at character " + at;
            i += Character.charCount(cp);
        }
        return null;
    }

    /** What kind of character {@code cp} is when it does not print, else null. */
    private static String unprintable(int cp) {
        int type = Character.getType(cp);
        if (type == Character.CONTROL) return "control character";
        if (type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR) return "line separator";
        if (type == Character.SURROGATE) return "unpaired surrogate";
        if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return "bidirectional control";
        if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return "noncharacter";
        if (cp == 0xFFFD) return "replacement character";
        return null;
    }

    private static String codePoint(int cp) {
        return String.format("U+%04X", cp);
    }

    /**
     * {@code s} in single quotes for a message, made safe by {@link #clip}; ordinary names come
     * out unchanged.
     */
    static String quote(String s) {
        String quoted = "'" + clip(s, QUOTE_LIMIT) + "'";
        return s.length() > QUOTE_LIMIT ? quoted + " (" + s.length() + " characters)" : quoted;
    }

    /**
     * At most {@code limit} chars of {@code s}, then "..." when it is longer, with unprintable
     * characters written as {@code \\uXXXX}: a message stays one readable line whatever the file holds.
     */
    private static String clip(String s, int limit) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), limit) + 8);
        int i = 0;
        while (i < s.length()) {
            int cp = s.codePointAt(i);
            if (i + Character.charCount(cp) > limit) break; // never half a surrogate pair
            if (unprintable(cp) != null) {
                for (char c : Character.toChars(cp)) b.append(String.format("\\u%04X", (int) c));
            } else {
                b.appendCodePoint(cp);
            }
            i += Character.charCount(cp);
        }
        return i < s.length() ? b.append("...").toString() : b.toString();
    }

    /** Like {@link Arrays#toString(long[])}, but a hostile array of millions shows its first values only. */
    private static String list(long[] values) {
        if (values.length <= 16) return Arrays.toString(values);
        return Arrays.toString(Arrays.copyOf(values, 16)).replace("]", ", ... (" + values.length + " values)]");
    }

    private static Map<String, String> parseMetadata(String file, JsonNode v) throws SafetensorsFormatException {
        if (!(v instanceof ObjectNode m)) {
            throw corrupt(file, METADATA_KEY + " must be an object of strings, found " + Json.typeName(v)
                    + "; the file does not follow the safetensors format");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : m.properties()) {
            if (!e.getValue().isTextual()) {
                throw corrupt(file, METADATA_KEY + " value for key " + quote(e.getKey()) + " must be a string, found "
                        + Json.typeName(e.getValue()) + " " + excerpt(e.getValue()) + "; the file does not follow the safetensors format");
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return out;
    }

    /** JSON types only; every other rule is {@link #validate}'s. */
    private static Entry parseEntry(String file, String name, JsonNode v) throws SafetensorsFormatException {
        String what = "tensor " + quote(name);
        if (!(v instanceof ObjectNode t)) {
            throw corrupt(file, what + " must be an object with dtype, shape and data_offsets, found " + Json.typeName(v)
                    + "; the file is corrupt");
        }
        JsonNode dtype = required(file, what, t, "dtype");
        if (!dtype.isTextual()) {
            throw corrupt(file, what + " dtype must be a string, found " + excerpt(dtype) + "; the file is corrupt");
        }
        long[] shape = ints(file, what, "shape", required(file, what, t, "shape"));
        long[] offsets = ints(file, what, "data_offsets", required(file, what, t, "data_offsets"));
        return new Entry(name, dtype.textValue(), shape, offsets);
    }

    /** The reference rejects any byte not owned by exactly one tensor ("MetadataIncompleteBuffer"). */
    private static void checkTiling(String file, List<TensorInfo> sorted, long dataStart, long dataSize)
            throws SafetensorsFormatException {
        long cursor = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            long begin = t.byteOffset() - dataStart;
            if (begin < cursor) {
                throw corrupt(file, "tensors " + quote(prev.name()) + " " + range(prev, dataStart) + " and " + quote(t.name())
                        + " " + range(t, dataStart) + " overlap; the file is corrupt");
            }
            if (begin > cursor) {
                throw corrupt(file, "data section bytes [" + cursor + ", " + begin + ") belong to no tensor (next is "
                        + quote(t.name()) + " " + range(t, dataStart) + "); the file is corrupt");
            }
            cursor = begin + t.byteLength();
            prev = t;
        }
        if (cursor != dataSize) {
            throw corrupt(file, "tensors cover " + cursor + " of the " + dataSize
                    + " bytes of the data section; the file has trailing bytes or is corrupt");
        }
    }

    private static JsonNode required(String file, String what, ObjectNode t, String key)
            throws SafetensorsFormatException {
        JsonNode v = t.get(key);
        if (v == null) throw corrupt(file, what + " has no '" + key + "'; the file is corrupt");
        return v;
    }

    /**
     * An array of integers that fit a long; an integer beyond that is no real shape or offset
     * either. Written integers only: 4.0 is refused, as serde refuses it for a usize.
     */
    private static long[] ints(String file, String what, String key, JsonNode v) throws SafetensorsFormatException {
        if (v.isArray()) {
            long[] out = new long[v.size()];
            for (int i = 0; i < out.length; i++) {
                JsonNode n = v.get(i);
                if (!n.isIntegralNumber() || !n.canConvertToLong()) {
                    throw corrupt(file, what + " " + key + " must be an array of integers, found " + excerpt(v)
                            + "; the file is corrupt");
                }
                out[i] = n.longValue();
            }
            return out;
        }
        throw corrupt(file, what + " " + key + " must be an array of integers, found " + excerpt(v) + "; the file is corrupt");
    }

    private static void checkNonNegative(String file, String what, String key, long[] values) throws SafetensorsFormatException {
        for (long d : values) {
            if (d < 0) {
                throw corrupt(file, what + " has negative value " + d + " in " + key + " " + list(values)
                        + "; the file is corrupt");
            }
        }
    }

    private static String range(TensorInfo t, long dataStart) {
        long begin = t.byteOffset() - dataStart;
        return "[" + begin + ", " + (begin + t.byteLength()) + "]";
    }

    static String supportedDTypes() {
        return Arrays.stream(DType.values()).map(d -> d.safetensorsName).collect(Collectors.joining(", "));
    }

    /** A value as JSON, cut short so a hostile header cannot flood the message. */
    private static String excerpt(JsonNode v) {
        String s = Json.write(v);
        return clip(s, s.length() <= 60 ? 60 : 57);
    }

    private static SafetensorsFormatException corrupt(String file, String problem) {
        return new SafetensorsFormatException(file + ": " + problem);
    }
}
