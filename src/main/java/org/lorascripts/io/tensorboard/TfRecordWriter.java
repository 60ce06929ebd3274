package org.lorascripts.io.tensorboard;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * TFRecord framing (tensorflow/core/lib/io/record_writer.cc): per record
 * {@code uint64 length, uint32 masked_crc32c(length), data, uint32 masked_crc32c(data)}, little endian.
 * Each record goes to the stream in a single write so that, with an append-mode file, a crash leaves
 * whole records followed at most by one torn record, which readers detect by its CRC or length.
 */
public final class TfRecordWriter {
    private final OutputStream out;

    public TfRecordWriter(OutputStream out) {
        this.out = out;
    }

    public void write(byte[] data) throws IOException {
        out.write(frame(data));
    }

    static byte[] frame(byte[] data) {
        ByteBuffer buf = ByteBuffer.allocate(8 + 4 + data.length + 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(data.length);
        buf.putInt(MaskedCrc32c.maskedCrc32c(buf.array(), 0, 8));
        buf.put(data);
        buf.putInt(MaskedCrc32c.maskedCrc32c(data));
        return buf.array();
    }

    public void flush() throws IOException {
        out.flush();
    }
}
