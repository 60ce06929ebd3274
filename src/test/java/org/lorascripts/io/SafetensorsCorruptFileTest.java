package org.lorascripts.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a header can be wrong gives one clear message naming the file; none crashes or allocates much. */
class SafetensorsCorruptFileTest {
    @TempDir
    Path dir;

    private Path file;

    private Path raw(long headerLength, byte[] header, int dataBytes) throws Exception {
        file = dir.resolve("model.safetensors");
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLength).put(header);
        Files.write(file, b.array());
        return file;
    }

    private Path raw(String header, int dataBytes) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return raw(h.length, h, dataBytes);
    }

    private String error(Path p) {
        return assertThrows(SafetensorsFormatException.class, () -> SafetensorsFile.open(p)).getMessage();
    }

    private String expect(String problem) {
        return file + ": " + problem;
    }

    @Test
    void fileShorterThanTheLengthPrefix() throws Exception {
        file = dir.resolve("model.safetensors");
        Files.write(file, new byte[5]);
        assertEquals(expect("file is 5 bytes, shorter than the 8-byte header length; the file is truncated or not a safetensors file"), error(file));
    }

    @Test
    void headerClaiming2To60BytesFailsFastWithoutAllocating() throws Exception {
        raw(1L << 60, "{}".getBytes(StandardCharsets.US_ASCII), 0);
        // per-thread allocation counters live in jdk.management, absent from minimal (jlinked) runtimes
        org.junit.jupiter.api.Assumptions.assumeTrue(ModuleLayer.boot().findModule("jdk.management").isPresent(), "jdk.management missing");
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long tid = Thread.currentThread().threadId();
        long before = threads.getThreadAllocatedBytes(tid);
        String message = error(file);
        long allocated = threads.getThreadAllocatedBytes(tid) - before;
        assertEquals(expect("header length 1152921504606846976 bytes exceeds the 100000000-byte limit; the file is corrupt or not a safetensors file"), message);
        assertTrue(allocated < 4 << 20, "allocated " + allocated + " bytes");
    }

    @Test
    void headerLengthWithTheTopBitSetIsReadUnsigned() throws Exception {
        raw(-1L, new byte[0], 0);
        assertEquals(expect("header length 18446744073709551615 bytes exceeds the 100000000-byte limit; the file is corrupt or not a safetensors file"), error(file));
    }

    @Test
    void headerLongerThanTheFile() throws Exception {
        raw(1000, "{}".getBytes(StandardCharsets.US_ASCII), 90);
        assertEquals(expect("header length 1000 bytes runs past the end of the file (92 bytes after the length); the file is truncated or not a safetensors file"), error(file));
    }

    @Test
    void badJson() throws Exception {
        raw("{\"a\":{\"dtype\":\"F32\",}", 0);
        assertEquals(expect("header is not valid JSON: unexpected character ('}' (code 125)): was expecting double-quote to start field name at byte 20 of the header (file offset 28); the file is corrupt or not a safetensors file"), error(file));
        raw(new byte[] {'{', '"', (byte) 0xFF, '"', ':', '1', '}'}.length, new byte[] {'{', '"', (byte) 0xFF, '"', ':', '1', '}'}, 0);
        assertEquals(expect("header is not valid JSON: invalid UTF-8 byte 0xFF at byte 2 of the header (file offset 10); the file is corrupt or not a safetensors file"), error(file));
    }

    /** Numbers the format has no use for, but past a double's range: refused as they always were, anywhere. */
    @Test
    void numbersBeyondADoubleAreRefusedEvenWhereIgnored() throws Exception {
        raw("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":1" + "0".repeat(400) + "}}", 1);
        assertEquals(expect("header is not valid JSON: number out of range (beyond a double's ±1.8e308) at byte 60 of the header (file offset 68); the file is corrupt or not a safetensors file"), error(file));
        raw("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":[1e400]}}", 1);
        assertEquals(expect("header is not valid JSON: number out of range (beyond a double's ±1.8e308) at byte 61 of the header (file offset 69); the file is corrupt or not a safetensors file"), error(file));
        raw("{\"x\":{\"dtype\":\"U8\",\"shape\":[9223372036854775808],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("tensor 'x' shape must be an array of integers, found [9223372036854775808]; the file is corrupt"), error(file));
        raw("{\"x\":{\"dtype\":\"\\ud800\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("header is not valid JSON: unpaired surrogate \\uD800 in a string at /x/dtype in the header; the file is corrupt or not a safetensors file"), error(file));
    }

    /**
     * Valid headers past Jackson's default limits (strings of 20 million characters, keys of
     * 50,000, numbers of 1,000 digits) open: the header limit is 100 MB, not Jackson's.
     */
    @Test
    void headersPastJacksonsDefaultLimitsOpen() throws Exception {
        String name = "t".repeat(60_000);
        String value = "v".repeat(21_000_000);
        raw("{\"__metadata__\":{\"config\":\"" + value + "\"},\"" + name + "\":{\"dtype\":\"U8\",\"shape\":[1],"
                + "\"data_offsets\":[0,1],\"extra\":0." + "5".repeat(2_000) + "}}", 1);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(java.util.List.of(name), f.names());
            assertEquals(value, f.metadata().get("config"));
        }
    }

    @Test
    void headerThatIsNotAnObject() throws Exception {
        raw("[1]", 0);
        assertEquals(expect("header must be a JSON object, found array; the file is corrupt or not a safetensors file"), error(file));
    }

    @Test
    void duplicateKeys() throws Exception {
        raw("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("header is not valid JSON: duplicate key 'a' at byte 53 of the header (file offset 61); the file is corrupt or not a safetensors file"), error(file));
    }

    @Test
    void unknownDType() throws Exception {
        raw("{\"x\":{\"dtype\":\"F8_E5M2\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("tensor 'x' has unsupported dtype 'F8_E5M2' (supported: U8, I8, I16, I32, I64, F16, F32, F64, BOOL, BF16, F8_E4M3); convert the file to one of these"), error(file));
    }

    @Test
    void negativeDimension() throws Exception {
        raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,24]}}", 24);
        assertEquals(expect("tensor 'x' has negative value -3 in shape [2, -3]; the file is corrupt"), error(file));
    }

    @Test
    void malformedEntries() throws Exception {
        raw("{\"x\":[1]}", 0);
        assertEquals(expect("tensor 'x' must be an object with dtype, shape and data_offsets, found array; the file is corrupt"), error(file));
        raw("{\"x\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("tensor 'x' has no 'dtype'; the file is corrupt"), error(file));
        raw("{\"x\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("tensor 'x' dtype must be a string, found 5; the file is corrupt"), error(file));
        raw("{\"x\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("tensor 'x' shape must be an array of integers, found [1.5]; the file is corrupt"), error(file));
        raw("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8);
        assertEquals(expect("tensor 'x' data_offsets must be [begin, end] with begin <= end, found [8, 4]; the file is corrupt"), error(file));
        raw("{\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}", 1);
        assertEquals(expect("tensor 'x' data_offsets must be [begin, end] with begin <= end, found [0]; the file is corrupt"), error(file));
    }

    @Test
    void byteLengthDisagreesWithShape() throws Exception {
        raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 20);
        assertEquals(expect("tensor 'x' is F32 with shape [2, 3] (24 bytes) but data_offsets [0, 20] span 20 bytes; the file is corrupt"), error(file));
    }

    @Test
    void shapeWhoseByteCountOverflows() throws Exception {
        raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0);
        assertEquals(expect("tensor 'x' is F32 with shape [4294967296, 4294967296], which overflows a 64-bit byte count; the file is corrupt"), error(file));
        raw("{\"x\":{\"dtype\":\"F32\",\"shape\":[3037000500,3037000500],\"data_offsets\":[0,0]}}", 0);
        assertEquals(expect("tensor 'x' is F32 with shape [3037000500, 3037000500], which overflows a 64-bit byte count; the file is corrupt"), error(file));
    }

    @Test
    void offsetsPastTheDataSection() throws Exception {
        raw("{\"x.weight\":{\"dtype\":\"F32\",\"shape\":[250],\"data_offsets\":[0,1000]}}", 800);
        assertEquals(expect("tensor 'x.weight' data_offsets [0, 1000] end past the data section (800 bytes); the file is truncated or corrupt"), error(file));
    }

    @Test
    void overlappingTensors() throws Exception {
        raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24);
        assertEquals(expect("tensors 'a' [0, 16] and 'b' [8, 24] overlap; the file is corrupt"), error(file));
    }

    @Test
    void holeBetweenTensors() throws Exception {
        raw("{\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[24,40]},\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 40);
        assertEquals(expect("data section bytes [16, 24) belong to no tensor (next is 'b' [24, 40]); the file is corrupt"), error(file));
    }

    @Test
    void trailingBytesAfterTheLastTensor() throws Exception {
        raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 20);
        assertEquals(expect("tensors cover 16 of the 20 bytes of the data section; the file has trailing bytes or is corrupt"), error(file));
    }

    @Test
    void metadataMustBeStrings() throws Exception {
        raw("{\"__metadata__\":{\"ok\":\"yes\",\"k\":3}}", 0);
        assertEquals(expect("__metadata__ value for key 'k' must be a string, found integer 3; the file does not follow the safetensors format"), error(file));
        raw("{\"__metadata__\":[\"x\"]}", 0);
        assertEquals(expect("__metadata__ must be an object of strings, found array; the file does not follow the safetensors format"), error(file));
    }

    @Test
    void acceptsSpacePaddingOutOfOrderEntriesAndUnknownFields() throws Exception {
        raw("{\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2],\"extra\":1},\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}   ", 2);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(java.util.List.of("a", "b"), f.names());
        }
    }

    @Test
    void zeroHeaderLengthSaysSo() throws Exception {
        // A preallocated download that never got its bytes: all zeros.
        file = dir.resolve("model.safetensors");
        Files.write(file, new byte[4096]);
        assertEquals(expect("header length is 0 bytes, too short for the smallest header '{}'; the file is zero-filled, corrupt or not a safetensors file"), error(file));
    }

    @Test
    void emptyTensorName() throws Exception {
        raw("{\"\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("tensor name '' is empty (data_offsets [0, 1]); the file is corrupt or was written by a broken tool"), error(file));
    }

    @Test
    void namesWithCharactersThatDoNotPrint() throws Exception {
        String[][] cases = {
                {"a\\u0007b", "'a\\u0007b' contains control character U+0007 at character 1"},
                {"a\\nb", "'a\\u000Ab' contains control character U+000A at character 1"},
                {"\\u0000", "'\\u0000' contains control character U+0000 at character 0"},
                {"x\u007f", "'x\\u007F' contains control character U+007F at character 1"},
                {"x\u0085", "'x\\u0085' contains control character U+0085 at character 1"},
                {"x\u2028y", "'x\\u2028y' contains line separator U+2028 at character 1"},
                {"abc\u202Egpj.exe", "'abc\\u202Egpj.exe' contains bidirectional control U+202E at character 3"},
                {"w\uFFFD", "'w\\uFFFD' contains replacement character U+FFFD at character 1"},
                {"w\\uFFFF", "'w\\uFFFF' contains noncharacter U+FFFF at character 1"},
                {"\uD83D\uDE00\\u0001", "'\uD83D\uDE00\\u0001' contains control character U+0001 at character 1"},
        };
        for (String[] c : cases) {
            raw("{\"" + c[0] + "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
            assertEquals(expect("tensor name " + c[1] + " (data_offsets [0, 1]); the file is corrupt or was written by a broken tool"), error(file), c[0]);
        }
    }

    @Test
    void ordinaryUnicodeNamesAreFine() throws Exception {
        // Accents, CJK, an emoji (a surrogate pair in Java), a zero-width joiner inside an emoji sequence, spaces.
        String[] names = {"café.weight", "层.0.权重", "emoji\uD83D\uDE00", "fam\uD83D\uDC68\u200D\uD83D\uDC69", "a b", "\u00A0nbsp"};
        StringBuilder h = new StringBuilder("{");
        for (int i = 0; i < names.length; i++) {
            if (i > 0) h.append(',');
            h.append('"').append(names[i]).append("\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[").append(i).append(',').append(i + 1).append("]}");
        }
        raw(h.append('}').toString(), names.length);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(java.util.List.of(names), f.names());
        }
    }

    @Test
    void messagesQuoteHostileStringsOnOneShortLine() throws Exception {
        String longName = "n".repeat(5000);
        raw("{\"" + longName + "\":{\"dtype\":\"F8_E5M2\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("tensor '" + "n".repeat(120) + "...' (5000 characters) has unsupported dtype 'F8_E5M2' (supported: U8, I8, I16, I32, I64, F16, F32, F64, BOOL, BF16, F8_E4M3); convert the file to one of these"), error(file));
        raw("{\"x\":{\"dtype\":\"F\\n32\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("tensor 'x' has unsupported dtype 'F\\u000A32' (supported: U8, I8, I16, I32, I64, F16, F32, F64, BOOL, BF16, F8_E4M3); convert the file to one of these"), error(file));
        raw("{\"__metadata__\":{\"line\\nbreak\":1}}", 0);
        assertEquals(expect("__metadata__ value for key 'line\\u000Abreak' must be a string, found integer 1; the file does not follow the safetensors format"), error(file));
        String dims = "1,".repeat(100_000) + "-1";
        raw("{\"x\":{\"dtype\":\"U8\",\"shape\":[" + dims + "],\"data_offsets\":[0,1]}}", 1);
        assertEquals(expect("tensor 'x' has negative value -1 in shape [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ... (100001 values)]; the file is corrupt"), error(file));
    }

    @Test
    void fileThatShrinksWhileTheHeaderIsReadNamesTheFile() throws Exception {
        raw("{}", 0);
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            // As if the file had been 1000 bytes when its size was taken.
            String m = assertThrows(SafetensorsFormatException.class,
                    () -> SafetensorsFile.readFully(file.toString(), ch, ByteBuffer.allocate(1000), 8, 1008)).getMessage();
            assertEquals(expect("file ended at byte 10 while reading the header, though it was 1008 bytes when opened; another program is writing or truncating it"), m);
        }
    }

    @Test
    void duplicateNamesFromAJsonLayerThatReportsThemAreRefused() {
        var e = new SafetensorsHeader.Entry("a", "U8", new long[] {1}, new long[] {0, 1});
        String m = assertThrows(SafetensorsFormatException.class,
                () -> SafetensorsHeader.validate("m.safetensors", java.util.List.of(e, e), java.util.Map.of(), 16, 2)).getMessage();
        assertEquals("m.safetensors: tensor 'a' appears twice in the header; the file is corrupt", m);
    }

    /** Pins what the JSON layer must keep doing: a map-shaped tree cannot show duplicates to the validation. */
    @Test
    void duplicateKeysInsideEntriesAndMetadata() throws Exception {
        raw("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"data_offsets\":[1,2]}}", 2);
        assertEquals(expect("header is not valid JSON: duplicate key 'data_offsets' at byte 52 of the header (file offset 60); the file is corrupt or not a safetensors file"), error(file));
        raw("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0);
        assertEquals(expect("header is not valid JSON: duplicate key 'k' at byte 25 of the header (file offset 33); the file is corrupt or not a safetensors file"), error(file));
    }
}
