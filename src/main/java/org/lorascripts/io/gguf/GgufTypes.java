package org.lorascripts.io.gguf;

/**
 * The codes of the GGUF v3 container (ggml {@code docs/gguf.md}): metadata value types and the tensor types this
 * project writes. https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */
public final class GgufTypes {
    private GgufTypes() {}

    /** "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    public static final int VERSION = 3;
    /** {@code general.alignment} when the file does not set it. */
    public static final int DEFAULT_ALIGNMENT = 32;

    /** gguf_metadata_value_type. */
    public enum ValueType {
        UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1), STRING(8, -1),
        ARRAY(9, -1), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

        public final int code;
        /** Byte size of one value; -1 for strings and arrays. */
        public final int size;

        ValueType(int code, int size) {
            this.code = code;
            this.size = size;
        }

        public static ValueType of(int code) {
            for (ValueType t : values()) if (t.code == code) return t;
            return null;
        }
    }

    /** The ggml_type codes of the plain float types (quantized types are not written here). */
    public enum TensorType {
        F32(0, 4), F16(1, 2), BF16(30, 2);

        public final int code;
        public final int byteSize;

        TensorType(int code, int byteSize) {
            this.code = code;
            this.byteSize = byteSize;
        }

        public static TensorType of(int code) {
            for (TensorType t : values()) if (t.code == code) return t;
            return null;
        }
    }

    /** ggml's name of a type code, for messages and listings (the common ones; others by number). */
    public static String tensorTypeName(int code) {
        return switch (code) {
            case 0 -> "f32";
            case 1 -> "f16";
            case 2 -> "q4_0";
            case 3 -> "q4_1";
            case 6 -> "q5_0";
            case 7 -> "q5_1";
            case 8 -> "q8_0";
            case 30 -> "bf16";
            default -> "type" + code;
        };
    }

    static long pad(long n, long align) { return (n + align - 1) / align * align; }
}
