package org.lorascripts.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.lorascripts.io.AtomicFileWriter;
import org.lorascripts.io.Json;

/**
 * A caption file of an image folder in any of the forms the field uses, read into image name → caption:
 * <ul>
 * <li>{@code metadata.csv} ({@link MetadataCsv}: Hugging Face imagefolder, {@code file_name,text});</li>
 * <li>{@code metadata.jsonl}: one JSON object a line, Hugging Face imagefolder's {@code {"file_name": ..., "text": ...}},
 *     or kohya's JSONL fine-tuning metadata {@code {"image_path": ..., "caption": ..., "tags": ...}};</li>
 * <li>a {@code .json} file: kohya's fine-tuning metadata (finetune/merge_captions_to_metadata.py), one object keyed
 *     by image path or file stem, each with {@code caption} and/or {@code tags}, joined as kohya's
 *     FineTuningDataset joins them ({@code caption + "," + tags}).</li>
 * </ul>
 * Names are relative to the image folder ('/' separators; an absolute path inside the folder is made
 * relative). kohya's keys may be stems ({@code "img_001"} for {@code img_001.png}), so a JSON file's keys
 * also match an image by its name without extension. Every problem is one line naming the file and line.
 */
public final class CaptionMetadata {
    /** The JSONL caption file found beside the images, as {@link MetadataCsv#FILE_NAME} is. */
    public static final String JSONL_NAME = "metadata.jsonl";

    private CaptionMetadata() {}

    /**
     * The captions of {@code file}, by the image names of {@code imageDir}.
     *
     * @param stems whether a key may name an image by its stem (kohya's JSON)
     */
    public record Captions(LinkedHashMap<String, String> rows, boolean stems) {
        /** The caption of image {@code name}: its row, else (kohya's keys) the row of its stem. */
        public String get(String name) {
            String row = rows.get(name);
            if (row != null || !stems) return row;
            int dot = name.lastIndexOf('.');
            return dot > name.lastIndexOf('/') ? rows.get(name.substring(0, dot)) : null;
        }
    }

    /** Reads {@code file} by its extension: .csv, .jsonl, or .json (kohya's fine-tuning metadata). */
    public static Captions read(Path file, Path imageDir) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv")) return new Captions(MetadataCsv.read(file), false);
        if (name.endsWith(".jsonl")) return new Captions(readJsonl(file, imageDir), false);
        if (name.endsWith(".json")) return new Captions(readKohyaJson(file, imageDir), true);
        throw new DatasetException(file + ": captions must be a .csv (file_name,text), .jsonl ({\"file_name\": ..., \"text\": ...}"
                + " a line) or .json (kohya's fine-tuning metadata) file");
    }

    private static String text(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DatasetException(file + " does not exist");
        } catch (IOException e) {
            throw new DatasetException("cannot read " + file + ": " + e.getMessage());
        }
        String t = MetadataCsv.decodeUtf8(bytes, file.toString());
        return t.startsWith("\uFEFF") ? t.substring(1) : t;
    }

    /** Hugging Face imagefolder's metadata.jsonl, or kohya's JSONL metadata. */
    static LinkedHashMap<String, String> readJsonl(Path file, Path imageDir) {
        String[] lines = text(file).split("\r?\n", -1);
        LinkedHashMap<String, String> rows = new LinkedHashMap<>();
        Map<String, Integer> lineOf = new HashMap<>();
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) continue;
            int line = i + 1;
            JsonNode o;
            try {
                o = Json.parse(lines[i]);
            } catch (Json.Malformed e) {
                throw new DatasetException(file + ":" + line + ": not valid JSON (" + e.getMessage() + "); write one"
                        + " {\"file_name\": ..., \"text\": ...} object a line");
            }
            if (!o.isObject()) {
                throw new DatasetException(file + ":" + line + ": expected a JSON object like {\"file_name\": \"a.png\", \"text\": \"...\"},"
                        + " got " + Json.typeName(o));
            }
            String key = o.has("file_name") ? "file_name" : o.has("image_path") ? "image_path" : null;
            if (key == null || !o.get(key).isTextual() || o.get(key).asText().isBlank()) {
                throw new DatasetException(file + ":" + line + ": no file_name (the image's path relative to the folder)");
            }
            String caption;
            if (o.has("text")) caption = textField(o, "text", file, line);
            else caption = kohyaCaption(o, file + ":" + line);
            String name = imageName(o.get(key).asText(), imageDir);
            Integer first = lineOf.putIfAbsent(name, line);
            if (first != null) {
                throw new DatasetException(file + ":" + line + ": file_name '" + name + "' is also on line " + first + ": keep one line per image");
            }
            rows.put(name, caption);
        }
        return rows;
    }

    private static String textField(JsonNode o, String field, Path file, int line) {
        JsonNode v = o.get(field);
        if (v.isNull()) return "";
        if (!v.isTextual()) throw new DatasetException(file + ":" + line + ": \"" + field + "\" must be a string, got " + Json.typeName(v));
        return v.asText();
    }

    /** kohya's caption of an entry: caption, then "," and the tags when there are tags (FineTuningDataset). */
    private static String kohyaCaption(JsonNode o, String where) {
        for (String f : new String[] {"caption", "tags"}) {
            if (o.has(f) && !o.get(f).isTextual() && !o.get(f).isNull()) {
                throw new DatasetException(where + ": \"" + f + "\" must be a string, got " + Json.typeName(o.get(f)));
            }
        }
        String caption = o.path("caption").isTextual() ? o.get("caption").asText() : "";
        String tags = o.path("tags").isTextual() ? o.get("tags").asText() : "";
        if (tags.isEmpty()) return caption;
        return caption.isEmpty() ? tags : caption + "," + tags;
    }

    /** kohya's fine-tuning metadata: {"img_001": {"caption": "...", "tags": "..."}, ...}. */
    static LinkedHashMap<String, String> readKohyaJson(Path file, Path imageDir) {
        String text = text(file);
        JsonNode root;
        try {
            root = Json.parse(text);
        } catch (Json.Malformed e) {
            throw new DatasetException(file + lineAt(text, e.offset()) + ": not valid JSON (" + e.getMessage() + ")");
        }
        if (!root.isObject()) {
            throw new DatasetException(file + ": kohya's metadata must be one JSON object keyed by image, like"
                    + " {\"img_001\": {\"caption\": \"...\", \"tags\": \"...\"}}, got " + Json.typeName(root));
        }
        LinkedHashMap<String, String> rows = new LinkedHashMap<>();
        for (var e : root.properties()) {
            String where = file + ":" + lineOfKey(text, e.getKey());
            if (!e.getValue().isObject()) {
                throw new DatasetException(where + ": the entry of '" + e.getKey() + "' must be an object with caption and/or tags, got "
                        + Json.typeName(e.getValue()));
            }
            String name = imageName(e.getKey(), imageDir);
            if (rows.containsKey(name)) throw new DatasetException(where + ": '" + name + "' is named twice: keep one entry per image");
            rows.put(name, kohyaCaption(e.getValue(), where));
        }
        return rows;
    }

    /** A name as written in the file, relative to {@code imageDir} and spelled as {@link ImageFiles#list} spells it. */
    private static String imageName(String written, Path imageDir) {
        String n = written.strip();
        try {
            Path p = Path.of(n);
            if (p.isAbsolute()) {
                Path dir = imageDir.toAbsolutePath().normalize();
                Path abs = p.normalize();
                if (abs.startsWith(dir)) n = ImageFiles.relativeName(dir, abs);
            }
        } catch (IllegalArgumentException e) {
            // not a path of this system: matched as written (and reported as matching no image)
        }
        return ImageFiles.normalizeName(n);
    }

    private static String lineAt(String text, long byteOffset) {
        if (byteOffset < 0) return "";
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int line = 1;
        for (int i = 0; i < Math.min(byteOffset, b.length); i++) if (b[i] == '\n') line++;
        return ":" + line;
    }

    /** The line of {@code "key":} in {@code text} (the first one), for messages about its entry. */
    private static int lineOfKey(String text, String key) {
        int at = text.indexOf(Json.write(Json.node(key)));
        if (at < 0) return 1;
        int line = 1;
        for (int i = 0; i < at; i++) if (text.charAt(i) == '\n') line++;
        return line;
    }

    /**
     * Writes {@code rows} as metadata.jsonl, atomically: a line per image, each line's object kept with its
     * other fields and its text replaced, new images appended as {"file_name", "text"}.
     */
    static void writeJsonl(Path file, Path imageDir, Map<String, String> rows) throws IOException {
        LinkedHashMap<String, com.fasterxml.jackson.databind.node.ObjectNode> objects = new LinkedHashMap<>();
        if (Files.exists(file)) {
            for (String l : text(file).split("\r?\n")) {
                if (l.isBlank()) continue;
                try {
                    JsonNode o = Json.parse(l);
                    String key = o.has("file_name") ? "file_name" : "image_path";
                    if (o.isObject() && o.has(key)) objects.put(imageName(o.get(key).asText(), imageDir), (com.fasterxml.jackson.databind.node.ObjectNode) o);
                } catch (Json.Malformed e) {
                    throw new DatasetException(file + ": not valid JSONL (" + e.getMessage() + "); fix it before writing captions");
                }
            }
        }
        StringBuilder out = new StringBuilder();
        for (var e : rows.entrySet()) {
            var o = objects.getOrDefault(e.getKey(), Json.object("file_name", e.getKey()));
            if (o.has("image_path") && !o.has("file_name")) {
                o.put("caption", e.getValue());
                o.remove("tags");
            } else {
                o.put("text", e.getValue());
            }
            out.append(Json.write(o)).append('\n');
        }
        AtomicFileWriter.write(file, out.toString().getBytes(StandardCharsets.UTF_8));
    }
}
