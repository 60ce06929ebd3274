package org.lorascripts.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Per-step caption augmentation, following kohya's {@code BaseDataset.process_caption}
 * (sd-scripts library/train_util.py): with probability {@code dropoutRate} the whole caption
 * becomes "" (the model then also learns the unconditional case, which classifier-free guidance
 * uses); otherwise only its first line is used, and when shuffling or tag dropout is on it is
 * split at commas into tags, the first {@code keepTokens} tags stay in front (typically the
 * trigger word), the rest are shuffled and each dropped with probability {@code tagDropoutRate},
 * and the tags are joined with ", ". Unlike kohya, empty tags (",,") are left out rather than
 * joined back as empty strings.
 */
public record CaptionProcessor(boolean shuffle, int keepTokens, double dropoutRate, double tagDropoutRate) {
    public static final CaptionProcessor NONE = new CaptionProcessor(false, 0, 0, 0);

    public CaptionProcessor {
        if (keepTokens < 0) throw new IllegalArgumentException("keep_tokens must be >= 0, got " + keepTokens);
        if (!(dropoutRate >= 0 && dropoutRate <= 1)) {
            throw new IllegalArgumentException("caption_dropout_rate must be in [0, 1], got " + dropoutRate);
        }
        if (!(tagDropoutRate >= 0 && tagDropoutRate <= 1)) {
            throw new IllegalArgumentException("caption_tag_dropout_rate must be in [0, 1], got " + tagDropoutRate);
        }
    }

    /** The caption to train on this step; {@code random} is the example's CAPTION stream for the epoch. */
    public String process(String caption, ExampleRandom random) {
        // kohya decides dropout first and draws a number only when the rate is set.
        if (dropoutRate > 0 && random.nextDouble() < dropoutRate) return "";
        int newline = caption.indexOf('\n');
        String text = newline < 0 ? caption : caption.substring(0, newline);
        if (!shuffle && tagDropoutRate <= 0) return text;

        List<String> tags = splitTags(text);
        int keep = Math.min(keepTokens, tags.size());
        List<String> out = new ArrayList<>(tags.subList(0, keep));
        List<String> flex = new ArrayList<>(tags.subList(keep, tags.size()));
        if (shuffle) random.shuffle(flex);
        for (String tag : flex) {
            if (tagDropoutRate <= 0 || random.nextDouble() >= tagDropoutRate) out.add(tag);
        }
        return String.join(", ", out);
    }

    /** Comma-separated tags, stripped, empty ones left out. */
    public static List<String> splitTags(String caption) {
        List<String> tags = new ArrayList<>();
        for (String t : caption.split(",")) {
            String s = t.strip();
            if (!s.isEmpty()) tags.add(s);
        }
        return tags;
    }
}
