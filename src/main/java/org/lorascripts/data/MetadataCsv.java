package org.lorascripts.data;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lorascripts.io.AtomicFileWriter;

/**
 * The {@code metadata.csv} of a Hugging Face imagefolder dataset: columns {@code file_name,text}, UTF-8,
 * RFC 4180 quoting. Reading accepts extra columns (only file_name and text are kept), a UTF-8 BOM and
 * CRLF or LF line ends; writing always produces exactly the two columns with LF line ends.
 */
public final class MetadataCsv {
    public static final String FILE_NAME = "metadata.csv";

    private MetadataCsv() {}

    /** file_name → text in file order. */
    public static LinkedHashMap<String, String> read(Path csv) {
        String text;
        try {
            byte[] bytes = Files.readAllBytes(csv);
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new DatasetException(csv + " is not UTF-8 text: re-save it as UTF-8");
        } catch (IOException e) {
            throw new DatasetException("cannot read " + csv + ": " + e.getMessage());
        }
        return parse(text, csv.toString());
    }

    static LinkedHashMap<String, String> parse(String text, String source) {
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        List<List<String>> records = records(text, source);
        LinkedHashMap<String, String> rows = new LinkedHashMap<>();
        if (records.isEmpty()) return rows;
        List<String> header = records.getFirst();
        int nameCol = header.indexOf("file_name");
        int textCol = header.indexOf("text");
        if (nameCol < 0 || textCol < 0) {
            throw new DatasetException(source + ": header must have columns file_name and text, found "
                    + String.join(",", header));
        }
        for (int i = 1; i < records.size(); i++) {
            List<String> r = records.get(i);
            if (r.size() == 1 && r.getFirst().isEmpty()) continue;   // blank line
            if (r.size() <= Math.max(nameCol, textCol)) {
                throw new DatasetException(source + ": record " + (i + 1) + " has " + r.size() + " fields, expected "
                        + header.size() + " (quote text containing commas)");
            }
            String name = r.get(nameCol);
            if (rows.containsKey(name)) {
                throw new DatasetException(source + ": file_name '" + name + "' appears twice: keep one row");
            }
            rows.put(name, r.get(textCol));
        }
        return rows;
    }

    /** RFC 4180 records; quoted fields may hold commas, doubled quotes and line breaks. */
    private static List<List<String>> records(String text, String source) {
        List<List<String>> records = new ArrayList<>();
        List<String> record = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int i = 0;
        int n = text.length();
        boolean fieldStarted = false;
        while (i < n) {
            char c = text.charAt(i);
            if (c == '"' && field.isEmpty() && !fieldStarted) {
                int close = i + 1;
                while (true) {
                    if (close >= n) {
                        throw new DatasetException(source + ": a quoted field is never closed (record "
                                + (records.size() + 1) + "): check its quotes");
                    }
                    char q = text.charAt(close);
                    if (q == '"') {
                        if (close + 1 < n && text.charAt(close + 1) == '"') {
                            field.append('"');
                            close += 2;
                            continue;
                        }
                        break;
                    }
                    field.append(q);
                    close++;
                }
                i = close + 1;
                fieldStarted = true;
            } else if (c == ',') {
                record.add(field.toString());
                field.setLength(0);
                fieldStarted = false;
                i++;
            } else if (c == '\r' || c == '\n') {
                record.add(field.toString());
                records.add(record);
                record = new ArrayList<>();
                field.setLength(0);
                fieldStarted = false;
                i += (c == '\r' && i + 1 < n && text.charAt(i + 1) == '\n') ? 2 : 1;
            } else {
                field.append(c);
                fieldStarted = true;
                i++;
            }
        }
        if (fieldStarted || !record.isEmpty()) {
            record.add(field.toString());
            records.add(record);
        }
        return records;
    }

    public static String format(Map<String, String> rows) {
        StringBuilder out = new StringBuilder("file_name,text\n");
        for (Map.Entry<String, String> e : rows.entrySet()) {
            out.append(quote(e.getKey())).append(',').append(quote(e.getValue())).append('\n');
        }
        return out.toString();
    }

    /** Quotes only where RFC 4180 requires it, so plain captions stay readable in a text editor. */
    static String quote(String field) {
        boolean needs = field.indexOf(',') >= 0 || field.indexOf('"') >= 0
                || field.indexOf('\n') >= 0 || field.indexOf('\r') >= 0
                || (!field.isEmpty() && (Character.isWhitespace(field.charAt(0))
                        || Character.isWhitespace(field.charAt(field.length() - 1))));
        return needs ? '"' + field.replace("\"", "\"\"") + '"' : field;
    }

    public static void write(Path csv, Map<String, String> rows) throws IOException {
        AtomicFileWriter.write(csv, format(rows).getBytes(StandardCharsets.UTF_8));
    }
}
