package org.lorascripts.data;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lorascripts.io.Json;

/**
 * Tag counts per image folder for kohya's {@code ss_tag_frequency} LoRA metadata, which WebUI's
 * LoRA browser shows as the training tags. Counted as kohya's {@code set_tag_frequency} does: raw
 * captions (before shuffle/dropout) split at commas, stripped, lower-cased, empty tags skipped;
 * tags in first-seen order.
 */
public final class TagFrequency {
    private final LinkedHashMap<String, LinkedHashMap<String, Integer>> byFolder = new LinkedHashMap<>();

    /** Adds the captions of one folder (kohya keys it by the folder's base name). */
    public TagFrequency add(String folderName, Collection<String> captions) {
        LinkedHashMap<String, Integer> counts = byFolder.computeIfAbsent(folderName, k -> new LinkedHashMap<>());
        for (String caption : captions) {
            for (String tag : caption.split(",")) {
                String t = tag.strip();
                if (!t.isEmpty()) counts.merge(t.toLowerCase(java.util.Locale.ROOT), 1, Integer::sum);
            }
        }
        return this;
    }

    /** Count of {@code tag} (lower case) in {@code folderName}; 0 when absent. */
    public int count(String folderName, String tag) {
        Map<String, Integer> counts = byFolder.get(folderName);
        return counts == null ? 0 : counts.getOrDefault(tag, 0);
    }

    /** {@code {"<folder>": {"<tag>": count, ...}, ...}} as compact JSON, the value of ss_tag_frequency. */
    public String toJson() {
        return Json.write(Json.object(byFolder));
    }
}
