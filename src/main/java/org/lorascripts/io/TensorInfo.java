package org.lorascripts.io;

import java.util.Arrays;
import org.lorascripts.tensor.DType;

/**
 * Where one tensor lives in a safetensors file.
 *
 * @param byteOffset absolute offset of the first byte in the file (not relative to the data
 *                   section as the header's {@code data_offsets} are), so a native loader can
 *                   mmap or pread it directly
 * @param byteLength number of bytes: product(shape) * dtype size
 */
public record TensorInfo(String name, DType dtype, long[] shape, long byteOffset, long byteLength) {
    public TensorInfo {
        shape = shape.clone();
    }

    /** A copy; the record stays immutable. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements; 1 for a scalar (empty shape). */
    public long numel() {
        long n = 1;
        for (long d : shape) n *= d; // cannot overflow: the reader checked product * dtype size
        return n;
    }

    /** "[2, 3]", for messages. */
    public static String shapeString(long[] shape) {
        return Arrays.toString(shape);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && byteOffset == t.byteOffset && byteLength == t.byteLength;
    }

    @Override
    public int hashCode() {
        return ((name.hashCode() * 31 + dtype.hashCode()) * 31 + Arrays.hashCode(shape)) * 31 + Long.hashCode(byteOffset);
    }

    @Override
    public String toString() {
        return name + " " + dtype.safetensorsName + " " + shapeString(shape) + " @" + byteOffset + "+" + byteLength;
    }
}
