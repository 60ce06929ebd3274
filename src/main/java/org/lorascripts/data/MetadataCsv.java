package org.lorascripts.data;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVPrinter;
import org.apache.commons.csv.CSVRecord;
import org.apache.commons.csv.QuoteMode;
import org.lorascripts.io.AtomicFileWriter;

/**
 * The caption CSV of an image folder: {@code metadata.csv} of a Hugging Face imagefolder dataset, or the
 * file {@code metadata_path} names. Columns {@code file_name,text}, UTF-8, RFC 4180 quoting (fields may
 * hold commas, doubled quotes and line breaks). Every reader of captions (training, the dry run, the
 * labeler and the caption tools) goes through here, so a file means the same thing everywhere.
 *
 * <p>Reading accepts a UTF-8 BOM, CRLF or LF, header names in any case and extra columns (only file_name
 * and text are kept). File names are normalised as {@link ImageFiles#normalizeName} says, and a file
 * named twice is an error naming both lines: silently keeping one row would hide a mistake. Writing
 * always produces exactly the two columns, LF line ends and quotes only where needed.
 */
public final class MetadataCsv {
    public static final String FILE_NAME = "metadata.csv";
    static final String NAME_COLUMN = "file_name";
    static final String TEXT_COLUMN = "text";

    /** RFC 4180 with blank lines kept as records, so that the parser's line count stays the file's. */
    private static final CSVFormat READ = CSVFormat.RFC4180.builder().setIgnoreEmptyLines(false).get();
    /** LF, not RFC 4180's CRLF: the files are edited by hand and diffed, and every reader accepts LF. */
    private static final CSVFormat WRITE = CSVFormat.RFC4180.builder()
            .setRecordSeparator('\n').setQuoteMode(QuoteMode.MINIMAL).get();

    private MetadataCsv() {}

    /** file_name (normalised) → text (as written, not stripped) in file order. */
    public static LinkedHashMap<String, String> read(Path csv) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(csv);
        } catch (NoSuchFileException e) {
            throw new DatasetException(csv + " does not exist");
        } catch (IOException e) {
            throw new DatasetException("cannot read " + csv + ": " + e.getMessage());
        }
        return parse(decodeUtf8(bytes, csv.toString()), csv.toString());
    }

    /** Strict UTF-8: a Latin-1 or UTF-16 file would otherwise train on garbled captions. */
    static String decodeUtf8(byte[] bytes, String source) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);   // UTF-8 never has fewer bytes than UTF-16 chars
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) result = decoder.flush(out);
        if (result.isError()) {
            int line = 1;
            for (int i = 0; i < in.position(); i++) if (bytes[i] == '\n') line++;
            throw new DatasetException(source + ":" + line + ": not UTF-8 text (byte " + (in.position() + 1)
                    + "); re-save the file as UTF-8");
        }
        return out.flip().toString();
    }

    static LinkedHashMap<String, String> parse(String text, String source) {
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        LinkedHashMap<String, String> rows = new LinkedHashMap<>();
        Map<String, Long> lineOf = new HashMap<>();
        List<String> header = null;
        int nameCol = -1;
        int textCol = -1;
        try (CSVParser parser = CSVParser.builder().setReader(new StringReader(text)).setFormat(READ).get()) {
            Iterator<CSVRecord> records = parser.iterator();
            while (true) {
                // Line breaks consumed so far: the next record starts on the line after them.
                long line = parser.getCurrentLineNumber() + 1;
                CSVRecord r;
                try {
                    if (!records.hasNext()) break;
                    r = records.next();
                } catch (UncheckedIOException e) {
                    throw malformed(source, line, e);
                }
                if (isBlank(r)) continue;
                if (header == null) {
                    header = r.toList().stream().map(h -> h.strip().toLowerCase(Locale.ROOT)).toList();
                    nameCol = header.indexOf(NAME_COLUMN);
                    textCol = header.indexOf(TEXT_COLUMN);
                    if (nameCol < 0 || textCol < 0) {
                        throw new DatasetException(source + ":" + line + ": header must have columns file_name and"
                                + " text, found '" + String.join(",", r.toList()) + "'");
                    }
                    continue;
                }
                checkWidth(r, header, Math.max(nameCol, textCol) + 1, source, line);
                String name = ImageFiles.normalizeName(r.get(nameCol));
                if (name.isEmpty()) throw new DatasetException(source + ":" + line + ": empty file_name");
                Long first = lineOf.putIfAbsent(name, line);
                if (first != null) {
                    throw new DatasetException(source + ":" + line + ": file_name '" + name + "' is also on line "
                            + first + ": keep one row per image");
                }
                rows.put(name, r.get(textCol));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);   // a StringReader does not fail
        }
        return rows;
    }

    private static boolean isBlank(CSVRecord r) {
        return r.size() == 1 && r.get(0).isBlank();
    }

    /**
     * Too few fields is an error; so are more than the header has, unless the extra ones are empty (a trailing
     * comma): "a.png,cat, sitting" would otherwise train on "cat" alone.
     */
    private static void checkWidth(CSVRecord r, List<String> header, int needed, String source, long line) {
        if (r.size() < needed) {
            throw new DatasetException(source + ":" + line + ": " + fields(r.size()) + ", expected " + header.size()
                    + " (" + String.join(",", header) + ")");
        }
        for (int i = header.size(); i < r.size(); i++) {
            if (!r.get(i).isBlank()) {
                throw new DatasetException(source + ":" + line + ": " + fields(r.size()) + " but the header has "
                        + header.size() + ": put a text that holds commas in double quotes (\"a, b\")");
            }
        }
    }

    private static String fields(int n) {
        return n + (n == 1 ? " field" : " fields");
    }

    private static DatasetException malformed(String source, long line, UncheckedIOException e) {
        String why = e.getCause() == null ? e.getMessage() : e.getCause().getMessage();
        if (why != null && why.contains("EOF reached before encapsulated token finished")) {
            return new DatasetException(source + ":" + line + ": a quoted field is never closed: check its quotes");
        }
        return new DatasetException(source + ":" + line + ": malformed CSV (" + why + "): put a field that holds"
                + " commas, quotes or line breaks in double quotes and double the quotes inside it");
    }

    /** The file's text: header {@code file_name,text}, one row per entry, LF, minimal quoting. */
    public static String format(Map<String, String> rows) {
        StringBuilder out = new StringBuilder();
        try (CSVPrinter printer = new CSVPrinter(out, WRITE)) {
            printer.printRecord(NAME_COLUMN, TEXT_COLUMN);
            for (Map.Entry<String, String> e : rows.entrySet()) printer.printRecord(e.getKey(), e.getValue());
        } catch (IOException e) {
            throw new UncheckedIOException(e);   // a StringBuilder does not fail
        }
        return out.toString();
    }

    /** Replaces {@code csv} atomically: a crash mid-write leaves the old captions, never half of them. */
    public static void write(Path csv, Map<String, String> rows) throws IOException {
        AtomicFileWriter.write(csv, format(rows).getBytes(StandardCharsets.UTF_8));
    }
}
