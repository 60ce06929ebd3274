package org.lorascripts.label;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A SmilingWolf tagger's {@code selected_tags.csv}: header {@code tag_id,name,category,count}, one row
 * per model output in output order. Categories: 9 rating, 0 general, 4 character. Names are shown with
 * underscores turned into spaces, except kaomoji where the underscore is the mouth.
 */
public final class SelectedTags {
    public static final String FILE_NAME = "selected_tags.csv";
    public static final int RATING = 9;
    public static final int GENERAL = 0;
    public static final int CHARACTER = 4;

    /** The kaomoji list of SmilingWolf's wd-tagger app.py (also used by kohya's tagger script). */
    public static final Set<String> KAOMOJIS = Set.of(
            "0_0", "(o)_(o)", "+_+", "+_-", "._.", "<o>_<o>", "<|>_<|>", "=_=", ">_<", "3_3", "6_9", ">_o",
            "@_@", "^_^", "o_o", "u_u", "x_x", "|_|", "||_||");

    /** One output of the model; {@code name} is already display-ready. */
    public record Tag(String name, int category) {}

    private SelectedTags() {}

    public static String displayName(String raw) {
        return KAOMOJIS.contains(raw) ? raw : raw.replace('_', ' ');
    }

    public static List<Tag> read(Path csv) {
        if (!Files.isRegularFile(csv)) {
            throw new LabelException("tagger folder " + csv.getParent() + " has no " + FILE_NAME
                    + ": use a SmilingWolf wd tagger folder holding model.onnx and selected_tags.csv");
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new LabelException("cannot read " + csv + ": " + e.getMessage());
        }
        if (lines.isEmpty()) throw new LabelException(csv + " is empty: expected header tag_id,name,category,count");
        List<String> header = List.of(lines.getFirst().replace("\uFEFF", "").strip().split(","));
        int nameCol = header.indexOf("name");
        int catCol = header.indexOf("category");
        if (nameCol < 0 || catCol < 0) {
            throw new LabelException(csv + ": header must name columns 'name' and 'category' (tag_id,name,category,count)");
        }
        List<Tag> tags = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) continue;
            // Tag names in these files contain no commas or quotes, so a plain split is exact.
            String[] f = line.split(",", -1);
            if (f.length <= Math.max(nameCol, catCol)) {
                throw new LabelException(csv + " line " + (i + 1) + ": expected " + header.size() + " fields, got " + f.length);
            }
            int category;
            try {
                category = Integer.parseInt(f[catCol].strip());
            } catch (NumberFormatException e) {
                throw new LabelException(csv + " line " + (i + 1) + ": category '" + f[catCol] + "' is not a number");
            }
            tags.add(new Tag(displayName(f[nameCol].strip()), category));
        }
        if (tags.isEmpty()) throw new LabelException(csv + " lists no tags");
        return tags;
    }
}
