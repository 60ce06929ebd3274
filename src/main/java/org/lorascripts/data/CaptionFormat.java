package org.lorascripts.data;

import java.util.Locale;

/**
 * Where captions live: one {@code metadata.csv} or {@code metadata.jsonl} (Hugging Face imagefolder), or one
 * .txt per image (kohya).
 */
public enum CaptionFormat {
    CSV, TXT, JSONL;

    public static CaptionFormat parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "csv" -> CSV;
            case "txt" -> TXT;
            case "jsonl" -> JSONL;
            default -> throw new DatasetException("unknown caption format '" + text + "': use csv, txt or jsonl");
        };
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
