package org.lorascripts.io.tensorboard;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Just enough protobuf wire-format reading to recognise our own small events in existing event
 * files (the SessionLog START of an earlier run); the counterpart of {@link ProtoEncoder}.
 * Malformed input throws IllegalArgumentException.
 */
final class ProtoDecoder {
    private ProtoDecoder() {}

    /** The last value of length-delimited field {@code field} at the top level of {@code msg}, or null. */
    static byte[] lengthDelimited(byte[] msg, int field) {
        Object v = last(msg, field, 2);
        return v == null ? null : (byte[]) v;
    }

    /** The last value of varint field {@code field} at the top level of {@code msg}; 0 (proto3's default) when absent. */
    static long varint(byte[] msg, int field) {
        Object v = last(msg, field, 0);
        return v == null ? 0 : (Long) v;
    }

    private static Object last(byte[] msg, int field, int wantedWire) {
        ByteBuffer b = ByteBuffer.wrap(msg).order(ByteOrder.LITTLE_ENDIAN);
        Object found = null;
        try {
            while (b.hasRemaining()) {
                long key = rawVarint(b);
                int wire = (int) (key & 7);
                Object value = switch (wire) {
                    case 0 -> rawVarint(b);
                    case 1 -> b.getLong();
                    case 2 -> {
                        long n = rawVarint(b);
                        if (n < 0 || n > b.remaining()) throw new IllegalArgumentException("length " + n + " past the end");
                        byte[] bytes = new byte[(int) n];
                        b.get(bytes);
                        yield bytes;
                    }
                    case 5 -> b.getInt();
                    default -> throw new IllegalArgumentException("unsupported wire type " + wire);
                };
                if ((key >>> 3) == field && wire == wantedWire) found = value;
            }
        } catch (java.nio.BufferUnderflowException e) {
            throw new IllegalArgumentException("message cut short", e);
        }
        return found;
    }

    private static long rawVarint(ByteBuffer b) {
        long r = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte x = b.get();
            r |= (long) (x & 0x7F) << shift;
            if ((x & 0x80) == 0) return r;
        }
        throw new IllegalArgumentException("varint longer than ten bytes");
    }
}
