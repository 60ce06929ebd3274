package org.lorascripts.io.tensorboard;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Hand-written protobuf wire-format encoder (https://protobuf.dev/programming-guides/encoding/)
 * for the handful of TensorBoard messages we emit; not worth a protobuf runtime dependency.
 * Callers append fields in field-number order, as protoc-generated serializers do, so our bytes
 * match what Python's protobuf would write for the same message.
 */
final class ProtoEncoder {
    private static final int WIRE_VARINT = 0;
    private static final int WIRE_FIXED64 = 1;
    private static final int WIRE_LEN = 2;
    private static final int WIRE_FIXED32 = 5;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    ProtoEncoder varint(int field, long value) {
        tag(field, WIRE_VARINT);
        rawVarint(value);
        return this;
    }

    ProtoEncoder doubleValue(int field, double value) {
        tag(field, WIRE_FIXED64);
        long bits = Double.doubleToRawLongBits(value);
        for (int i = 0; i < 8; i++) {
            out.write((int) (bits >>> (8 * i)));
        }
        return this;
    }

    ProtoEncoder floatValue(int field, float value) {
        tag(field, WIRE_FIXED32);
        int bits = Float.floatToRawIntBits(value);
        for (int i = 0; i < 4; i++) {
            out.write(bits >>> (8 * i));
        }
        return this;
    }

    ProtoEncoder bytes(int field, byte[] value) {
        tag(field, WIRE_LEN);
        rawVarint(value.length);
        out.writeBytes(value);
        return this;
    }

    ProtoEncoder string(int field, String value) {
        return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    ProtoEncoder message(int field, ProtoEncoder nested) {
        return bytes(field, nested.toByteArray());
    }

    /** proto3 leaves scalar fields at their default value (0) off the wire unless they sit in a oneof. */
    ProtoEncoder varintIfNonZero(int field, long value) {
        return value == 0 ? this : varint(field, value);
    }

    ProtoEncoder doubleIfNonZero(int field, double value) {
        // Compare bits, not values: -0.0 is not the default and proto3 writes it.
        return Double.doubleToRawLongBits(value) == 0 ? this : doubleValue(field, value);
    }

    ProtoEncoder bytesIfNonEmpty(int field, byte[] value) {
        return value.length == 0 ? this : bytes(field, value);
    }

    byte[] toByteArray() {
        return out.toByteArray();
    }

    private void tag(int field, int wireType) {
        rawVarint(((long) field << 3) | wireType);
    }

    private void rawVarint(long value) {
        // Negative int32/int64 values take ten bytes (sign-extended), as protobuf specifies.
        while ((value & ~0x7FL) != 0) {
            out.write((int) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        out.write((int) value);
    }
}
