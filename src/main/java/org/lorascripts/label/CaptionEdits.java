package org.lorascripts.label;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/** Tag-level edits of captions (the {@code ./lora captions} tools). Each edit maps one caption to another. */
public final class CaptionEdits {
    private CaptionEdits() {}

    /** The captions an edit changes, image → new caption, in the input's order. */
    public static Map<String, String> changes(Map<String, String> captions, UnaryOperator<String> edit) {
        Map<String, String> changed = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : captions.entrySet()) {
            String after = edit.apply(e.getValue());
            if (!after.equals(e.getValue())) changed.put(e.getKey(), after);
        }
        return changed;
    }

    public static UnaryOperator<String> addTrigger(String trigger) {
        String word = requireTag(trigger, "trigger word");
        return caption -> {
            List<String> tags = CaptionTags.split(caption);
            if (tags.contains(word)) return caption;
            tags.addFirst(word);
            return CaptionTags.join(tags);
        };
    }

    public static UnaryOperator<String> replace(String oldTag, String newTag) {
        String from = requireTag(oldTag, "tag to replace");
        String to = requireTag(newTag, "replacement tag");
        return caption -> {
            List<String> tags = CaptionTags.split(caption);
            if (!tags.contains(from)) return caption;
            tags.replaceAll(t -> t.equals(from) ? to : t);
            return CaptionTags.join(tags);
        };
    }

    public static UnaryOperator<String> remove(Collection<String> unwanted) {
        Set<String> drop = new LinkedHashSet<>();
        for (String t : unwanted) drop.add(requireTag(t, "tag to remove"));
        return caption -> {
            List<String> tags = CaptionTags.split(caption);
            return tags.removeIf(drop::contains) ? CaptionTags.join(tags) : caption;
        };
    }

    public static UnaryOperator<String> dedupe() {
        return caption -> {
            List<String> tags = CaptionTags.split(caption);
            List<String> unique = new ArrayList<>(new LinkedHashSet<>(tags));
            return unique.size() == tags.size() ? caption : CaptionTags.join(unique);
        };
    }

    /** Tag → number of captions containing it; most frequent first, ties alphabetical. */
    public static List<Map.Entry<String, Integer>> frequencies(Collection<String> captions) {
        Map<String, Integer> counts = new TreeMap<>();
        for (String caption : captions) {
            for (String tag : new LinkedHashSet<>(CaptionTags.split(caption))) counts.merge(tag, 1, Integer::sum);
        }
        List<Map.Entry<String, Integer>> sorted = new ArrayList<>(counts.entrySet());
        sorted.sort(Map.Entry.<String, Integer>comparingByValue(Comparator.reverseOrder())
                .thenComparing(Map.Entry.comparingByKey()));
        return sorted;
    }

    private static String requireTag(String tag, String what) {
        String t = tag == null ? "" : tag.strip();
        if (t.isEmpty() || t.contains(",")) {
            throw new LabelException("the " + what + " must be one non-empty tag without commas, got '" + tag + "'");
        }
        return t;
    }
}
