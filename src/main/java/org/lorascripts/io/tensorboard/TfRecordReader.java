package org.lorascripts.io.tensorboard;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

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

    /**
     * Whether some record of at most {@code maxLength} bytes passes {@code test}, stopping at the
     * first. Longer records (images, text) are skipped unread, so a search for small events in a
     * large file reads little more than the 12-byte headers. A torn tail or a bad CRC ends the search
     * of that file without an error: this answers "is it there", not "is the file sound".
     */
    public static boolean anyRecord(Path file, int maxLength, Predicate<byte[]> test) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            long size = ch.size();
            long pos = 0;
            ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            while (size - pos >= 12) {
                header.clear();
                readFully(ch, header, pos);
                long length = header.getLong(0);
                if (header.getInt(8) != MaskedCrc32c.maskedCrc32c(header.array(), 0, 8)) return false;
                if (length < 0 || length > size - pos - 16) return false;
                if (length <= maxLength) {
                    ByteBuffer body = ByteBuffer.allocate((int) length + 4).order(ByteOrder.LITTLE_ENDIAN);
                    readFully(ch, body, pos + 12);
                    byte[] data = Arrays.copyOf(body.array(), (int) length);
                    if (body.getInt((int) length) != MaskedCrc32c.maskedCrc32c(data)) return false;
                    if (test.test(data)) return true;
                }
                pos += 16 + length;
            }
            return false;
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long at) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, at + buf.position());
            if (n < 0) throw new IOException("unexpected end of file");
        }
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
