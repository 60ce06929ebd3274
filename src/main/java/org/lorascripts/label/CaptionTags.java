package org.lorascripts.label;

import java.util.ArrayList;
import java.util.List;

/**
 * Captions as comma-separated tag lists ("1girl, red hair, smile"), the form WD14 taggers write and
 * kohya's shuffle_caption splits. Tags are trimmed; empty pieces (",," or a trailing comma) are dropped.
 */
public final class CaptionTags {
    public static final String SEPARATOR = ", ";

    private CaptionTags() {}

    public static List<String> split(String caption) {
        List<String> tags = new ArrayList<>();
        for (String piece : caption.split(",", -1)) {
            String tag = piece.strip();
            if (!tag.isEmpty()) tags.add(tag);
        }
        return tags;
    }

    public static String join(List<String> tags) {
        return String.join(SEPARATOR, tags);
    }
}
