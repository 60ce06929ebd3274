package org.lorascripts.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One TOML file of kohya sd-scripts, parsed by Jackson's TOML reader, with the line of every key.
 * The reader gives a tree without positions, so the lines come from a light pass over the text that
 * follows the table headers ({@code [general]}, {@code [[datasets]]}, {@code [[datasets.subsets]]}) and
 * the {@code key =} lines; it only places messages, the values are always the parser's.
 * A syntax error is one {@link ConfigException} line {@code FILE:LINE:COLUMN: TOML syntax error: ...}.
 */
final class KohyaToml {
    private static final TomlMapper MAPPER = new TomlMapper();
    private static final Pattern ARRAY_TABLE = Pattern.compile("\\[\\[\\s*([^\\]]+?)\\s*\\]\\]");
    private static final Pattern TABLE = Pattern.compile("\\[\\s*([^\\]]+?)\\s*\\]");
    private static final Pattern KEY = Pattern.compile("(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\\-]+)\\s*=.*");

    final Path file;
    final String display;
    final JsonNode root;
    private final Map<String, Integer> lines;

    private KohyaToml(Path file, String display, JsonNode root, Map<String, Integer> lines) {
        this.file = file;
        this.display = display;
        this.root = root;
        this.lines = lines;
    }

    static KohyaToml read(Path file, String display) {
        String text;
        try {
            if (Files.isRegularFile(file) && Files.size(file) > YamlConfigReader.MAX_FILE_BYTES) {
                throw new ConfigException(display + ": " + Files.size(file) + " bytes is far too large for a config file");
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException("config file not found: " + display);
        } catch (CharacterCodingException e) {
            throw new ConfigException(display + ": not UTF-8 text; save the TOML file as UTF-8");
        } catch (IOException e) {
            throw new ConfigException(display + ": cannot read the config file (" + e.getMessage() + ")");
        }
        return parse(text, file, display);
    }

    static KohyaToml parse(String text, Path file, String display) {
        if (text.startsWith("\uFEFF")) text = text.substring(1);
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null || at.getLineNr() < 1 ? "" : ":" + at.getLineNr() + ":" + at.getColumnNr();
            throw new ConfigException(display + where + ": TOML syntax error: " + oneLine(e.getOriginalMessage()));
        }
        if (root == null || root.isEmpty()) throw new ConfigException(display + ": the TOML file is empty");
        return new KohyaToml(file, display, root, lines(text));
    }

    private static String oneLine(String s) {
        return s == null ? "unreadable TOML" : s.replaceAll("\\s+", " ").strip();
    }

    /** Where {@code path} ({@code key}, {@code section.key}, {@code datasets[0].subsets[1].key}) was written. */
    Origin origin(String path) {
        Integer line = lines.get(path);
        return Origin.file(display, line == null ? 0 : line);
    }

    int line(String path) {
        Integer line = lines.get(path);
        return line == null ? 0 : line;
    }

    /**
     * The line of each key by its path: a plain table's keys as {@code table.key}, an array of tables' as
     * {@code name[i].key} (nested: {@code datasets[0].subsets[1].key}), top-level keys by their name.
     */
    static Map<String, Integer> lines(String text) {
        Map<String, Integer> out = new HashMap<>();
        Map<String, Integer> current = new HashMap<>();   // array of tables (unindexed name) -> its current index
        Map<String, Integer> counts = new HashMap<>();    // array of tables (indexed parent path) -> items so far
        String table = "";
        String[] ls = text.split("\r?\n", -1);
        for (int i = 0; i < ls.length; i++) {
            String l = ls[i].strip();
            Matcher m;
            if ((m = ARRAY_TABLE.matcher(l)).lookingAt()) {
                String name = unquote(m.group(1));
                int dot = name.lastIndexOf('.');
                String parent = dot < 0 ? "" : indexed(name.substring(0, dot), current) + ".";
                String full = parent + name.substring(dot + 1);
                int n = counts.merge(full, 1, Integer::sum) - 1;
                current.put(name, n);
                table = full + "[" + n + "]";
                out.putIfAbsent(table, i + 1);
            } else if ((m = TABLE.matcher(l)).lookingAt()) {
                table = indexed(unquote(m.group(1)), current);
                out.putIfAbsent(table, i + 1);
            } else if ((m = KEY.matcher(l)).matches()) {
                String key = m.group(1).replaceAll("^[\"']|[\"']$", "");
                out.putIfAbsent(table.isEmpty() ? key : table + "." + key, i + 1);
            }
        }
        return out;
    }

    private static String unquote(String dotted) {
        StringBuilder b = new StringBuilder();
        for (String part : dotted.split("\\.")) {
            if (!b.isEmpty()) b.append('.');
            b.append(part.strip().replaceAll("^[\"']|[\"']$", ""));
        }
        return b.toString();
    }

    private static String indexed(String dotted, Map<String, Integer> current) {
        StringBuilder plain = new StringBuilder(), out = new StringBuilder();
        for (String part : dotted.split("\\.")) {
            if (!plain.isEmpty()) { plain.append('.'); out.append('.'); }
            plain.append(part);
            out.append(part);
            Integer n = current.get(plain.toString());
            if (n != null) out.append('[').append(n).append(']');
        }
        return out.toString();
    }

    /** A TOML value as a config value before typing: scalars as their text, arrays as lists, tables as mappings. */
    static RawValue raw(JsonNode v, int line) {
        if (v.isArray()) {
            List<RawValue> items = new ArrayList<>();
            for (JsonNode item : v) items.add(raw(item, line));
            return new RawValue.Sequence(items);
        }
        if (v.isObject()) {
            List<RawValue.Field> fields = new ArrayList<>();
            for (var e : v.properties()) fields.add(new RawValue.Field(e.getKey(), raw(e.getValue(), line), line));
            return new RawValue.Mapping(fields);
        }
        if (v.isNull()) return new RawValue.Null();
        return new RawValue.Scalar(v.asText());
    }
}
