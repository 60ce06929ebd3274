package org.lorascripts.label;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Turns one image's tag probabilities into caption tags.
 *
 * <p>As in SmilingWolf's wd-tagger app.py: general tags above the general threshold and character
 * tags above the character threshold, each group sorted by probability, highest first (a stable sort,
 * so equal probabilities keep selected_tags.csv order). Unlike app.py we keep tags whose probability
 * equals the threshold ({@code >=}, as kohya's script does), put character tags before general tags
 * (kohya's {@code --character_tags_first}; app.py returns them separately), and do not escape
 * parentheses (app.py escapes them for WebUI prompts; training captions want the plain tag).
 * With {@code includeRating} the single most probable rating tag goes first, like kohya's
 * {@code --use_rating_tags}.
 */
public record TagSelection(double generalThreshold, double characterThreshold, boolean includeRating) {
    public TagSelection {
        check("--threshold", generalThreshold);
        check("--character-threshold", characterThreshold);
    }

    private static void check(String option, double value) {
        if (!(value >= 0 && value <= 1)) {
            throw new LabelException(option + " must be between 0 and 1, got " + value);
        }
    }

    private record Scored(String name, float probability) {}

    public List<String> select(List<SelectedTags.Tag> tags, float[] probabilities) {
        if (probabilities.length != tags.size()) {
            throw new LabelException("the model gives " + probabilities.length + " outputs but selected_tags.csv lists "
                    + tags.size() + " tags: use the selected_tags.csv that came with the model");
        }
        List<Scored> characters = new ArrayList<>();
        List<Scored> general = new ArrayList<>();
        Scored bestRating = null;
        // Compare in float32 like numpy does (float32 array vs Python float), so a probability of exactly
        // 0.35f reaches a 0.35 threshold even though 0.35f < 0.35 in double.
        float general32 = (float) generalThreshold;
        float character32 = (float) characterThreshold;
        for (int i = 0; i < tags.size(); i++) {
            SelectedTags.Tag tag = tags.get(i);
            float p = probabilities[i];
            switch (tag.category()) {
                case SelectedTags.CHARACTER -> { if (p >= character32) characters.add(new Scored(tag.name(), p)); }
                case SelectedTags.GENERAL -> { if (p >= general32) general.add(new Scored(tag.name(), p)); }
                case SelectedTags.RATING -> {
                    if (bestRating == null || p > bestRating.probability()) bestRating = new Scored(tag.name(), p);
                }
                default -> { }   // other categories (e.g. copyright/meta in some exports) are not captioned
            }
        }
        Comparator<Scored> byConfidence = Comparator.comparingDouble(Scored::probability).reversed();
        characters.sort(byConfidence);
        general.sort(byConfidence);
        List<String> out = new ArrayList<>();
        if (includeRating && bestRating != null) out.add(bestRating.name());
        characters.forEach(s -> out.add(s.name()));
        general.forEach(s -> out.add(s.name()));
        return out;
    }
}
