package org.lorascripts.data;

import java.util.Locale;

/** Where captions live: one {@code metadata.csv} (Hugging Face imagefolder) or one .txt per image (kohya). */
public enum CaptionFormat {
    CSV, TXT;

    public static CaptionFormat parse(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "csv" -> CSV;
            case "txt" -> TXT;
            default -> throw new DatasetException("unknown caption format '" + text + "': use csv or txt");
        };
    }

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
