package org.lorascripts.io.tensorboard;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads TFRecord files back, checking both CRCs of every record. A file cut off mid-record (the
 * writer crashed or is still writing) yields every complete record and reports the torn tail, as
 * TensorBoard's own loader does; a CRC mismatch inside the file is corruption and throws.
 */
public final class TfRecordReader {
    /** The records read, and how many trailing bytes did not form a complete record. */
    public record Result(List<byte[]> records, long truncatedTailBytes) {}

    private TfRecordReader() {}

    public static Result read(Path file) throws IOException {
        return read(Files.readAllBytes(file));
    }

    public static Result read(byte[] file) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> records = new ArrayList<>();
        while (buf.hasRemaining()) {
            int start = buf.position();
            if (buf.remaining() < 12) {
                return new Result(records, buf.remaining());
            }
            long length = buf.getLong();
            int lengthCrc = buf.getInt();
            if (lengthCrc != MaskedCrc32c.maskedCrc32c(file, start, 8)) {
                throw new IOException("TFRecord length CRC mismatch at byte " + start);
            }
            if (length < 0 || length > buf.remaining() - 4L) {
                return new Result(records, file.length - start);
            }
            byte[] data = new byte[(int) length];
            buf.get(data);
            int dataCrc = buf.getInt();
            if (dataCrc != MaskedCrc32c.maskedCrc32c(data)) {
                throw new IOException("TFRecord data CRC mismatch in record at byte " + start);
            }
            records.add(data);
        }
        return new Result(records, 0);
    }
}
