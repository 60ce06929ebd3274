package org.lorascripts.io;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.lorascripts.tensor.DType;

/**
 * The parsed and validated JSON header of one safetensors file. Validation follows the
 * reference Rust implementation ({@code Metadata::validate} and {@code read_metadata}): sizes
 * must match shape * dtype, and the tensors must tile the data section exactly, with no
 * overlaps, no holes and no trailing bytes. Unknown keys inside a tensor entry are ignored, as
 * serde does there.
 *
 * @param tensors  in data-offset order (the order the reference writer lays them out)
 * @param byName   the same tensors, same order
 * @param metadata {@code __metadata__}, in file order; empty when absent
 */
record SafetensorsHeader(List<TensorInfo> tensors, Map<String, TensorInfo> byName, Map<String, String> metadata) {

    static final String METADATA_KEY = "__metadata__";

    /**
     * @param file      how to name the file in messages
     * @param dataStart absolute file offset of the data section (8 + header length)
     * @param dataSize  bytes in the data section
     */
    static SafetensorsHeader parse(String file, byte[] header, long dataStart, long dataSize)
            throws SafetensorsFormatException {
        JsonValue root;
        try {
            root = JsonReader.parse(header);
        } catch (JsonParseException e) {
            throw corrupt(file, "header is not valid JSON: " + e.getMessage()
                    + " of the header (file offset " + (8 + e.offset()) + "); the file is corrupt or not a safetensors file");
        }
        if (!(root instanceof JsonValue.Obj obj)) {
            throw corrupt(file, "header must be a JSON object, found " + root.typeName()
                    + "; the file is corrupt or not a safetensors file");
        }
        Map<String, String> metadata = Map.of();
        List<TensorInfo> tensors = new ArrayList<>(obj.members().size());
        for (Map.Entry<String, JsonValue> e : obj.members().entrySet()) {
            if (e.getKey().equals(METADATA_KEY)) {
                metadata = parseMetadata(file, e.getValue());
            } else {
                tensors.add(parseTensor(file, e.getKey(), e.getValue(), dataStart, dataSize));
            }
        }
        tensors.sort(Comparator.comparingLong(TensorInfo::byteOffset).thenComparingLong(TensorInfo::byteLength));
        checkTiling(file, tensors, dataStart, dataSize);
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo t : tensors) byName.put(t.name(), t);
        return new SafetensorsHeader(List.copyOf(tensors), Collections.unmodifiableMap(byName), metadata);
    }

    private static Map<String, String> parseMetadata(String file, JsonValue v) throws SafetensorsFormatException {
        if (!(v instanceof JsonValue.Obj m)) {
            throw corrupt(file, METADATA_KEY + " must be an object of strings, found " + v.typeName()
                    + "; the file does not follow the safetensors format");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonValue> e : m.members().entrySet()) {
            if (!(e.getValue() instanceof JsonValue.Str s)) {
                throw corrupt(file, METADATA_KEY + " value for key '" + e.getKey() + "' must be a string, found "
                        + e.getValue().typeName() + " " + excerpt(e.getValue()) + "; the file does not follow the safetensors format");
            }
            out.put(e.getKey(), s.value());
        }
        return Collections.unmodifiableMap(out);
    }

    private static TensorInfo parseTensor(String file, String name, JsonValue v, long dataStart, long dataSize)
            throws SafetensorsFormatException {
        String what = "tensor '" + name + "'";
        if (!(v instanceof JsonValue.Obj t)) {
            throw corrupt(file, what + " must be an object with dtype, shape and data_offsets, found " + v.typeName()
                    + "; the file is corrupt");
        }
        DType dtype = switch (required(file, what, t, "dtype")) {
            case JsonValue.Str s -> {
                DType d = DType.fromSafetensorsName(s.value());
                if (d == null) {
                    throw corrupt(file, what + " has unsupported dtype '" + s.value() + "' (supported: "
                            + supportedDTypes() + "); convert the file to one of these");
                }
                yield d;
            }
            case JsonValue other -> throw corrupt(file, what + " dtype must be a string, found " + excerpt(other)
                    + "; the file is corrupt");
        };
        long[] shape = nonNegativeInts(file, what, "shape", required(file, what, t, "shape"));
        long[] offsets = nonNegativeInts(file, what, "data_offsets", required(file, what, t, "data_offsets"));
        if (offsets.length != 2 || offsets[0] > offsets[1]) {
            throw corrupt(file, what + " data_offsets must be [begin, end] with begin <= end, found "
                    + Arrays.toString(offsets) + "; the file is corrupt");
        }
        long bytes;
        try {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            bytes = Math.multiplyExact(n, (long) dtype.byteSize);
        } catch (ArithmeticException overflow) {
            throw corrupt(file, what + " is " + dtype.safetensorsName + " with shape " + Arrays.toString(shape)
                    + ", which overflows a 64-bit byte count; the file is corrupt");
        }
        long span = offsets[1] - offsets[0];
        if (span != bytes) {
            throw corrupt(file, what + " is " + dtype.safetensorsName + " with shape " + Arrays.toString(shape)
                    + " (" + bytes + " bytes) but data_offsets " + Arrays.toString(offsets) + " span " + span
                    + " bytes; the file is corrupt");
        }
        if (offsets[1] > dataSize) {
            throw corrupt(file, what + " data_offsets " + Arrays.toString(offsets) + " end past the data section ("
                    + dataSize + " bytes); the file is truncated or corrupt");
        }
        return new TensorInfo(name, dtype, shape, dataStart + offsets[0], bytes);
    }

    /** The reference rejects any byte not owned by exactly one tensor ("MetadataIncompleteBuffer"). */
    private static void checkTiling(String file, List<TensorInfo> sorted, long dataStart, long dataSize)
            throws SafetensorsFormatException {
        long cursor = 0;
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            long begin = t.byteOffset() - dataStart;
            if (begin < cursor) {
                throw corrupt(file, "tensors '" + prev.name() + "' " + range(prev, dataStart) + " and '" + t.name()
                        + "' " + range(t, dataStart) + " overlap; the file is corrupt");
            }
            if (begin > cursor) {
                throw corrupt(file, "data section bytes [" + cursor + ", " + begin + ") belong to no tensor (next is '"
                        + t.name() + "' " + range(t, dataStart) + "); the file is corrupt");
            }
            cursor = begin + t.byteLength();
            prev = t;
        }
        if (cursor != dataSize) {
            throw corrupt(file, "tensors cover " + cursor + " of the " + dataSize
                    + " bytes of the data section; the file has trailing bytes or is corrupt");
        }
    }

    private static JsonValue required(String file, String what, JsonValue.Obj t, String key)
            throws SafetensorsFormatException {
        JsonValue v = t.get(key);
        if (v == null) throw corrupt(file, what + " has no '" + key + "'; the file is corrupt");
        return v;
    }

    private static long[] nonNegativeInts(String file, String what, String key, JsonValue v)
            throws SafetensorsFormatException {
        if (v instanceof JsonValue.Arr a) {
            long[] out = new long[a.items().size()];
            for (int i = 0; i < out.length; i++) {
                if (!(a.items().get(i) instanceof JsonValue.Int n)) {
                    throw corrupt(file, what + " " + key + " must be an array of integers, found " + excerpt(v)
                            + "; the file is corrupt");
                }
                out[i] = n.value();
            }
            for (long d : out) {
                if (d < 0) {
                    throw corrupt(file, what + " has negative value " + d + " in " + key + " " + Arrays.toString(out)
                            + "; the file is corrupt");
                }
            }
            return out;
        }
        throw corrupt(file, what + " " + key + " must be an array of integers, found " + excerpt(v) + "; the file is corrupt");
    }

    private static String range(TensorInfo t, long dataStart) {
        long begin = t.byteOffset() - dataStart;
        return "[" + begin + ", " + (begin + t.byteLength()) + "]";
    }

    static String supportedDTypes() {
        return Arrays.stream(DType.values()).map(d -> d.safetensorsName).collect(Collectors.joining(", "));
    }

    /** A value as JSON, cut short so a hostile header cannot flood the message. */
    private static String excerpt(JsonValue v) {
        String s = JsonWriter.write(v);
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    private static SafetensorsFormatException corrupt(String file, String problem) {
        return new SafetensorsFormatException(file + ": " + problem);
    }
}
