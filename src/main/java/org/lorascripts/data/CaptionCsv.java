package org.lorascripts.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a caption CSV ({@code metadata.csv}, header {@code file_name,text}, as in HF
 * imagefolder datasets) per RFC 4180: quoted fields may hold commas, newlines and doubled
 * quotes; a UTF-8 BOM and CRLF line ends are accepted; other columns are ignored.
 */
public final class CaptionCsv {
    private CaptionCsv() {}

    /** Captions by file name (as written, '/' separators), in file order; a later row wins. */
    public static Map<String, String> read(Path csv) {
        String text;
        try {
            text = Files.readString(csv, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DatasetException(csv + ": cannot read captions (" + e.getMessage() + ")");
        }
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        List<Row> rows = parse(text, csv);
        if (rows.isEmpty()) throw new DatasetException(csv + ": empty; expected a header line 'file_name,text'");
        List<String> header = rows.getFirst().fields().stream().map(h -> h.strip().toLowerCase(Locale.ROOT)).toList();
        int nameCol = header.indexOf("file_name");
        int textCol = header.indexOf("text");
        if (nameCol < 0 || textCol < 0) {
            throw new DatasetException(csv + ":1: header must have columns file_name and text, got '"
                    + String.join(",", rows.getFirst().fields()) + "'");
        }
        Map<String, String> captions = new LinkedHashMap<>();
        for (Row row : rows.subList(1, rows.size())) {
            List<String> f = row.fields();
            if (f.size() == 1 && f.getFirst().isBlank()) continue;
            if (f.size() <= Math.max(nameCol, textCol)) {
                throw new DatasetException(csv + ":" + row.line() + ": expected " + header.size()
                        + " columns (file_name,text), got " + f.size() + "; quote captions that contain commas");
            }
            captions.put(f.get(nameCol).strip().replace('\\', '/'), f.get(textCol).strip());
        }
        return captions;
    }

    /** One CSV record and the line it starts on. */
    record Row(int line, List<String> fields) {}

    static List<Row> parse(String text, Path csv) {
        List<Row> rows = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        int line = 1, rowLine = 1, quoteLine = 0;
        boolean quoted = false, any = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') { field.append('"'); i++; }
                else if (c == '"') quoted = false;
                else { if (c == '\n') line++; field.append(c); }
                continue;
            }
            switch (c) {
                case '"' -> { quoted = true; quoteLine = line; any = true; }
                case ',' -> { fields.add(field.toString()); field.setLength(0); any = true; }
                case '\r' -> { }
                case '\n' -> {
                    fields.add(field.toString());
                    rows.add(new Row(rowLine, List.copyOf(fields)));
                    fields.clear(); field.setLength(0); any = false;
                    rowLine = ++line;
                }
                default -> { field.append(c); any = true; }
            }
        }
        if (quoted) throw new DatasetException(csv + ":" + quoteLine + ": unterminated quoted field (a \" without its closing \")");
        if (any || field.length() > 0) {
            fields.add(field.toString());
            rows.add(new Row(rowLine, List.copyOf(fields)));
        }
        return rows;
    }
}
