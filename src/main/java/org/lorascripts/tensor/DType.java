package org.lorascripts.tensor;

import java.util.Locale;
import org.lorascripts.ffi.NativeCodes;

/**
 * Element types. {@code code} is libtorch's {@code c10::ScalarType} value (stable since 1.x);
 * the codes come from {@link NativeCodes}, which the shim checks at load time, so {@code ordinal()} never crosses the boundary.
 * {@code safetensorsName} is the dtype string of the safetensors header.
 */
public enum DType {
    U8("u8", 1, "U8"),
    I8("i8", 1, "I8"),
    I16("i16", 2, "I16"),
    I32("i32", 4, "I32"),
    I64("i64", 8, "I64"),
    F16("f16", 2, "F16"),
    F32("f32", 4, "F32"),
    F64("f64", 8, "F64"),
    BOOL("bool", 1, "BOOL"),
    BF16("bf16", 2, "BF16"),
    /** float8_e4m3fn (libtorch 2.1 and newer, {@link #available}): storage of frozen weights, no arithmetic. */
    F8E4M3("f8e4m3", 1, "F8_E4M3");

    public final int code;
    private final String nativeName;
    public final int byteSize;
    public final String safetensorsName;

    DType(String nativeName, int byteSize, String safetensorsName) {
        this.code = NativeCodes.scalarType(nativeName);
        this.nativeName = nativeName;
        this.byteSize = byteSize;
        this.safetensorsName = safetensorsName;
    }

    public boolean isFloatingPoint() {
        return this == F16 || this == F32 || this == F64 || this == BF16;
    }

    /** Whether the loaded libtorch has this type (false only for {@link #F8E4M3} before libtorch 2.1). */
    public boolean available() { return NativeCodes.available(nativeName); }

    /**
     * This type, or a one-line error naming {@code what} (a file, a setting) when the loaded libtorch lacks it.
     */
    public DType requireAvailable(String what) {
        if (!available()) {
            throw new IllegalArgumentException(what + " needs " + safetensorsName + " tensors, which libtorch " + Torch.libtorchVersion()
                    + " does not have: " + USE_NEWER);
        }
        return this;
    }

    private static final String USE_NEWER = "use libtorch 2.1 or newer ('pip install torch', or LIBTORCH set to its folder)";

    /** "libtorch V has no float8 type; use libtorch 2.1 or newer (...)": why this type is not {@link #available}. */
    public String unavailableReason() {
        return "libtorch " + Torch.libtorchVersion() + " has no " + (this == F8E4M3 ? "float8" : displayName()) + " type; " + USE_NEWER;
    }

    public static DType fromCode(int code) {
        for (DType d : values()) if (d.code == code) return d;
        throw new IllegalArgumentException("unknown scalar type code " + code);
    }

    /** Parses a safetensors dtype string; returns null when unknown (callers produce their own error). */
    public static DType fromSafetensorsName(String name) {
        for (DType d : values()) if (d.safetensorsName.equals(name)) return d;
        return null;
    }

    /** Parses user-facing names: f32, float32, fp16, half, bf16, bfloat16, i64, long, bool ... */
    public static DType parse(String s) {
        switch (s.toLowerCase(Locale.ROOT)) {
            case "f32", "float32", "float", "fp32": return F32;
            case "f16", "float16", "half", "fp16": return F16;
            case "bf16", "bfloat16": return BF16;
            case "f64", "float64", "double", "fp64": return F64;
            case "i64", "int64", "long": return I64;
            case "i32", "int32", "int": return I32;
            case "i16", "int16", "short": return I16;
            case "i8", "int8": return I8;
            case "u8", "uint8", "byte": return U8;
            case "bool": return BOOL;
            default: throw new IllegalArgumentException("unknown dtype '" + s + "' (use f32, f16, bf16, f64, i64, i32, u8 or bool)");
        }
    }

    public String displayName() { return name().toLowerCase(Locale.ROOT); }
}
