package org.lorascripts.ffi;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * libtorch's enum values as they cross the shim: {@code c10::ScalarType} and {@code c10::DeviceType}
 * codes under the shim's names ({@code ls_dtype_code}, {@code ls_device_type_code}). The tensor layer's
 * {@code DType} and {@code Device} take their codes from here, and {@link EnumCodes} checks every entry
 * against the loaded libtorch, so {@code ordinal()} never crosses the boundary.
 */
public final class NativeCodes {
    private static final Map<String, Integer> SCALAR_TYPES = new LinkedHashMap<>();
    private static final Map<String, Integer> DEVICE_TYPES = new LinkedHashMap<>();
    /** Scalar types an older libtorch lacks: the shim reports them as -1, and {@link #available} then says false. */
    static final java.util.Set<String> OPTIONAL = java.util.Set.of("f8e4m3");
    private static final java.util.Set<String> ABSENT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static {
        SCALAR_TYPES.put("u8", 0);
        SCALAR_TYPES.put("i8", 1);
        SCALAR_TYPES.put("i16", 2);
        SCALAR_TYPES.put("i32", 3);
        SCALAR_TYPES.put("i64", 4);
        SCALAR_TYPES.put("f16", 5);
        SCALAR_TYPES.put("f32", 6);
        SCALAR_TYPES.put("f64", 7);
        SCALAR_TYPES.put("bool", 11);
        SCALAR_TYPES.put("bf16", 15);
        SCALAR_TYPES.put("f8e4m3", 24);   // float8_e4m3fn, libtorch >= 2.1 only (OPTIONAL)
        DEVICE_TYPES.put("cpu", 0);
        DEVICE_TYPES.put("cuda", 1);
    }

    private NativeCodes() {}

    /** The {@code c10::ScalarType} code of a shim dtype name ({@code f16}, {@code bf16}, ...). */
    public static int scalarType(String name) { return lookup(SCALAR_TYPES, name, "dtype"); }

    /**
     * Whether the loaded libtorch has the scalar type of this shim name (every one but {@link #OPTIONAL} ones always;
     * an optional one when the load-time check found it; asking about one loads libtorch).
     */
    public static boolean available(String name) {
        if (OPTIONAL.contains(name)) Native.load();   // the load-time check is what finds an optional type absent
        return !ABSENT.contains(name);
    }

    static void markAbsent(String name) { ABSENT.add(name); }

    /** The {@code c10::DeviceType} code of {@code cpu} or {@code cuda}. */
    public static int deviceType(String name) { return lookup(DEVICE_TYPES, name, "device type"); }

    static Map<String, Integer> scalarTypes() { return Collections.unmodifiableMap(SCALAR_TYPES); }

    static Map<String, Integer> deviceTypes() { return Collections.unmodifiableMap(DEVICE_TYPES); }

    private static int lookup(Map<String, Integer> codes, String name, String what) {
        Integer c = codes.get(name);
        if (c == null) throw new IllegalArgumentException("no native code for " + what + " '" + name + "'");
        return c;
    }
}
