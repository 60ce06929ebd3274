package org.lorascripts.io.tensorboard;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test-side protobuf decoder: field number -> values in wire order. Varints come back as Long,
 * fixed64 as Long bits, fixed32 as Integer bits, length-delimited fields as byte[]. Written apart from
 * ProtoEncoder so the round trip checks the wire format, not one class against itself.
 */
final class ProtoFields {
    final Map<Integer, List<Object>> fields = new LinkedHashMap<>();
    final List<Integer> order = new ArrayList<>();

    static ProtoFields parse(byte[] bytes) {
        ProtoFields p = new ProtoFields();
        ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        while (buf.hasRemaining()) {
            long key = readVarint(buf);
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            Object value = switch (wire) {
                case 0 -> readVarint(buf);
                case 1 -> buf.getLong();
                case 2 -> {
                    byte[] b = new byte[(int) readVarint(buf)];
                    buf.get(b);
                    yield b;
                }
                case 5 -> buf.getInt();
                default -> throw new IllegalArgumentException("wire type " + wire);
            };
            p.fields.computeIfAbsent(field, k -> new ArrayList<>()).add(value);
            p.order.add(field);
        }
        return p;
    }

    private static long readVarint(ByteBuffer buf) {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = buf.get();
            result |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) return result;
        }
        throw new IllegalArgumentException("varint too long");
    }

    boolean has(int field) {
        return fields.containsKey(field);
    }

    Object one(int field) {
        List<Object> v = fields.get(field);
        if (v == null || v.size() != 1) throw new AssertionError("field " + field + " has " + v);
        return v.getFirst();
    }

    long varint(int field) {
        return (Long) one(field);
    }

    double doubleValue(int field) {
        return Double.longBitsToDouble((Long) one(field));
    }

    float floatValue(int field) {
        return Float.intBitsToFloat((Integer) one(field));
    }

    byte[] bytes(int field) {
        return (byte[]) one(field);
    }

    String string(int field) {
        return new String(bytes(field), StandardCharsets.UTF_8);
    }

    ProtoFields message(int field) {
        return parse(bytes(field));
    }
}
