package org.lorascripts.io.tensorboard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lorascripts.io.PngWriter;

/** Parses our event files back (both CRCs, then the protobuf fields) the way TensorBoard would. */
class EventFileReadBackTest {

    @Test
    void decodesEveryKindOfEvent(@TempDir Path dir) throws IOException {
        AtomicLong tick = new AtomicLong(0);
        EventFileWriter.Options opts = new EventFileWriter.Options(
                () -> 1_700_000_000 + tick.getAndIncrement() * 0.25, "host-a", Duration.ofHours(1));
        byte[] png = PngWriter.encode(new byte[4 * 3 * 4], 4, 3, PngWriter.Channels.RGBA);
        Path file;
        try (EventFileWriter w = EventFileWriter.open(dir, opts)) {
            file = w.file();
            w.addScalar("train/loss", 0.125f, 7);
            w.addImage("samples/0", png, 4, 3, 8);
            w.addText("prompt", "**bold** ✓", 9);
        }
        assertEquals("events.out.tfevents.1700000000.host-a", file.getFileName().toString());

        TfRecordReader.Result result = TfRecordReader.read(file);
        assertEquals(0, result.truncatedTailBytes());
        List<byte[]> records = result.records();
        assertEquals(4, records.size());

        ProtoFields header = ProtoFields.parse(records.get(0));
        assertEquals(1_700_000_000.0, header.doubleValue(1));
        assertEquals("brain.Event:2", header.string(3));
        assertFalse(header.has(2));

        ProtoFields scalarEvent = ProtoFields.parse(records.get(1));
        assertEquals(1_700_000_000.25, scalarEvent.doubleValue(1));
        assertEquals(7, scalarEvent.varint(2));
        ProtoFields scalar = scalarEvent.message(5).message(1);
        assertEquals("train/loss", scalar.string(1));
        assertEquals(0.125f, scalar.floatValue(2));

        ProtoFields imageValue = ProtoFields.parse(records.get(2)).message(5).message(1);
        assertEquals("samples/0", imageValue.string(1));
        ProtoFields image = imageValue.message(4);
        assertEquals(3, image.varint(1));   // height
        assertEquals(4, image.varint(2));   // width
        assertEquals(4, image.varint(3));   // RGBA
        assertArrayEquals(png, image.bytes(4));

        ProtoFields textEvent = ProtoFields.parse(records.get(3));
        assertEquals(9, textEvent.varint(2));
        ProtoFields textValue = textEvent.message(5).message(1);
        assertEquals(List.of(1, 8, 9), textValue.order);
        ProtoFields tensor = textValue.message(8);
        assertEquals(7, tensor.varint(1));  // DT_STRING
        assertEquals(1, tensor.message(2).message(2).varint(1));  // shape [1]
        assertEquals("**bold** ✓", tensor.string(8));
        ProtoFields pluginData = textValue.message(9).message(1);
        assertEquals("text", pluginData.string(1));
        assertFalse(pluginData.has(2));     // TextPluginData{version: 0} serializes to nothing
    }

    @Test
    void goldenFileParsesWithOurReader() throws IOException {
        TfRecordReader.Result r = TfRecordReader.read(EventFileGoldenTest.resource(EventFileGoldenTest.GOLDEN));
        assertEquals(7, r.records().size());
        ProtoFields last = ProtoFields.parse(r.records().get(6));
        assertEquals(1L << 40, last.varint(2));
        assertEquals(-1.25f, last.message(5).message(1).floatValue(2));
        // A zero scalar is in a oneof, so it is on the wire; step 0 is not.
        ProtoFields zero = ProtoFields.parse(r.records().get(2));
        assertFalse(zero.has(2));
        assertEquals(0.0f, zero.message(5).message(1).floatValue(2));
    }

    @Test
    void truncatedFileYieldsAllCompleteRecords(@TempDir Path dir) throws IOException {
        Path file = EventFileGoldenTest.writeGoldenSequence(dir);
        byte[] whole = Files.readAllBytes(file);
        List<byte[]> all = TfRecordReader.read(whole).records();
        // Cut at every byte: a crash may stop the file anywhere inside the last record.
        int boundary = 0;
        int complete = 0;
        for (int cut = 0; cut <= whole.length; cut++) {
            if (complete < all.size() && cut == boundary + 16 + all.get(complete).length) {
                boundary = cut;
                complete++;
            }
            TfRecordReader.Result r = TfRecordReader.read(Arrays.copyOf(whole, cut));
            assertEquals(complete, r.records().size(), "cut at " + cut);
            assertEquals(cut - boundary, r.truncatedTailBytes(), "cut at " + cut);
        }
        assertEquals(all.size(), complete);
    }

    @Test
    void corruptedDataIsDetected(@TempDir Path dir) throws IOException {
        byte[] bytes = Files.readAllBytes(EventFileGoldenTest.writeGoldenSequence(dir));
        bytes[20] ^= 0x01;   // inside the first record's data
        IOException e = assertThrows(IOException.class, () -> TfRecordReader.read(bytes));
        assertTrue(e.getMessage().contains("data CRC"), e.getMessage());
    }

    @Test
    void writersInTheSameSecondGetDistinctFiles(@TempDir Path dir) throws IOException {
        try (EventFileWriter a = EventFileWriter.open(dir, EventFileGoldenTest.pinned());
             EventFileWriter b = EventFileWriter.open(dir, EventFileGoldenTest.pinned())) {
            assertNotEquals(a.file(), b.file());
            assertEquals(EventFileGoldenTest.GOLDEN + ".1", b.file().getFileName().toString());
        }
    }

    @Test
    void timerFlushesWithoutExplicitFlush(@TempDir Path dir) throws Exception {
        EventFileWriter.Options opts = EventFileGoldenTest.pinned().withFlushInterval(Duration.ofMillis(20));
        try (EventFileWriter w = EventFileWriter.open(dir, opts)) {
            long afterHeader = Files.size(w.file());
            w.addScalar("x", 1f, 1);
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (Files.size(w.file()) == afterHeader && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(Files.size(w.file()) > afterHeader, "background flush did not happen");
            assertEquals(2, TfRecordReader.read(w.file()).records().size());
        }
    }

    @Test
    void headerIsOnDiskBeforeAnyFlushAndWritesAfterCloseFail(@TempDir Path dir) throws IOException {
        EventFileWriter w = EventFileWriter.open(dir, EventFileGoldenTest.pinned());
        assertEquals(1, TfRecordReader.read(w.file()).records().size());
        w.close();
        w.close();   // idempotent
        assertThrows(IOException.class, () -> w.addScalar("x", 1f, 1));
    }

    /** Event { wall_time = 1; step = 2; session_log = 7 { status = 1 (START) } }, on disk before close. */
    @Test
    void sessionStartIsEncodedAsEventProtoSaysAndWrittenAtOnce(@TempDir Path dir) throws IOException {
        try (EventFileWriter w = EventFileWriter.open(dir, EventFileGoldenTest.pinned())) {
            w.addSessionStart(7);
            List<byte[]> records = TfRecordReader.read(w.file()).records();
            assertEquals(2, records.size(), "flushed without waiting for the timer");
            ProtoFields start = ProtoFields.parse(records.get(1));
            assertEquals(List.of(1, 2, 7), start.order);
            assertTrue(start.doubleValue(1) >= 1_700_000_000.0, "wall_time from the clock");
            assertEquals(7, start.varint(2));
            ProtoFields sessionLog = start.message(7);
            assertEquals(List.of(1), sessionLog.order);
            assertEquals(1, sessionLog.varint(1));   // SessionLog.SessionStatus.START
            assertTrue(EventMessages.isSessionStart(records.get(1)));
            assertFalse(EventMessages.isSessionStart(records.get(0)), "file_version");
        }
    }

    @Test
    void hasSessionStartLooksInEveryEventFileAndSkipsLargeRecords(@TempDir Path dir) throws IOException {
        assertFalse(EventFileWriter.hasSessionStart(dir.resolve("missing")));
        assertFalse(EventFileWriter.hasEventFiles(dir.resolve("missing")));
        EventFileGoldenTest.writeGoldenSequence(dir);   // scalars, an image, a text: no START
        assertTrue(EventFileWriter.hasEventFiles(dir));
        assertFalse(EventFileWriter.hasSessionStart(dir));

        Path later = dir.resolve("later");
        Path file;
        try (EventFileWriter w = EventFileWriter.open(later, EventFileGoldenTest.pinned())) {
            w.addText("big", "x".repeat(100_000), 1);
            w.addSessionStart(2);
            file = w.file();
        }
        assertTrue(EventFileWriter.hasSessionStart(later));
        byte[] whole = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(whole, whole.length - 3));   // a kill in the middle of the START record
        assertFalse(EventFileWriter.hasSessionStart(later));
        assertTrue(TfRecordReader.anyRecord(file, Integer.MAX_VALUE, r -> r.length > 100_000), "records before the tear are read");
    }

    @Test
    void imageSizeMustMatchPng(@TempDir Path dir) throws IOException {
        byte[] png = PngWriter.encode(new byte[3 * 2 * 3], 3, 2, PngWriter.Channels.RGB);
        try (EventFileWriter w = EventFileWriter.open(dir, EventFileGoldenTest.pinned())) {
            assertThrows(IllegalArgumentException.class, () -> w.addImage("i", png, 2, 3, 0));
            assertThrows(IllegalArgumentException.class,
                    () -> w.addImage("i", "not a png at all, just text....".repeat(2).getBytes(StandardCharsets.UTF_8), 3, 2, 0));
        }
    }

    @Test
    void demoWritesEventsAndExpectations(@TempDir Path dir) throws IOException {
        EventFileDemo.main(new String[] {dir.toString()});
        String expected = Files.readString(dir.resolve("expected.json"));
        assertTrue(expected.contains("\"samples/rgba\""));
        try (var files = Files.list(dir)) {
            Path events = files.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents.")).findFirst().orElseThrow();
            // 1 header + 42 scalars + 4 images + 2 texts
            assertEquals(49, TfRecordReader.read(events).records().size());
        }
        assertEquals(20, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
    }
}
