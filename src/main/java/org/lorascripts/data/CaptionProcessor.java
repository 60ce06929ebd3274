package org.lorascripts.data;

import java.util.ArrayList;
import java.util.List;

/**
 * Per-step caption augmentation, following kohya's {@code BaseDataset.process_caption}
 * (sd-scripts library/train_util.py): with probability {@code dropoutRate} the whole caption
 * becomes "" (the model then also learns the unconditional case, which classifier-free guidance
 * uses); otherwise only its first line is used, and when shuffling or tag dropout is on it is
 * split at commas into tags: the fixed tags stay in front (typically the trigger word), the rest are
 * shuffled and each dropped with probability {@code tagDropoutRate}, and the tags are joined with ", ".
 *
 * <p>The fixed tags are the first {@code keepTokens} ones; or, when {@code keepTokensSeparator} is set
 * and the caption holds it, the tags before it, and the tags after a second separator stay at the end
 * ({@code "sks, 1girl ||| red hair, smile ||| masterpiece"}: "sks, 1girl" first, "masterpiece" last, the
 * middle shuffled). As in kohya, the separator only acts when shuffling or tag dropout is on (without them
 * the caption trains as written, separator included), and it takes precedence over keepTokens.
 * {@code prefix} and {@code suffix} (kohya's caption_prefix / caption_suffix) are put on with a space first;
 * {@code secondarySeparator} (kohya's secondary_separator) joins tags that shuffle and drop as one and
 * becomes "," at the end.
 * Unlike kohya, empty tags (",,") are left out rather than joined back as empty strings (kohya keeps
 * them when splitting by keepTokens and drops them when splitting at the separator).
 */
public record CaptionProcessor(boolean shuffle, int keepTokens, double dropoutRate, double tagDropoutRate,
                               String keepTokensSeparator, String prefix, String suffix, String secondarySeparator) {
    public static final CaptionProcessor NONE = new CaptionProcessor(false, 0, 0, 0);

    public CaptionProcessor {
        if (keepTokens < 0) throw new IllegalArgumentException("keep_tokens must be >= 0, got " + keepTokens);
        if (!(dropoutRate >= 0 && dropoutRate <= 1)) {
            throw new IllegalArgumentException("caption_dropout_rate must be in [0, 1], got " + dropoutRate);
        }
        if (!(tagDropoutRate >= 0 && tagDropoutRate <= 1)) {
            throw new IllegalArgumentException("caption_tag_dropout_rate must be in [0, 1], got " + tagDropoutRate);
        }
        if (keepTokensSeparator == null) keepTokensSeparator = "";
        if (prefix == null) prefix = "";
        if (suffix == null) suffix = "";
        if (secondarySeparator == null) secondarySeparator = "";
    }

    /** Without caption_prefix, caption_suffix and secondary_separator. */
    public CaptionProcessor(boolean shuffle, int keepTokens, double dropoutRate, double tagDropoutRate, String keepTokensSeparator) {
        this(shuffle, keepTokens, dropoutRate, tagDropoutRate, keepTokensSeparator, "", "", "");
    }

    /** Without a keep_tokens_separator. */
    public CaptionProcessor(boolean shuffle, int keepTokens, double dropoutRate, double tagDropoutRate) {
        this(shuffle, keepTokens, dropoutRate, tagDropoutRate, "");
    }

    /** The caption to train on this step; {@code random} is the example's CAPTION stream for the epoch. */
    public String process(String caption, ExampleRandom random) {
        // kohya puts the prefix and suffix on with a space before anything else (a suffix after a line break is lost
        // with the other lines, as in kohya), decides dropout first and draws a number only when the rate is set.
        if (!prefix.isEmpty()) caption = prefix + " " + caption;
        if (!suffix.isEmpty()) caption = caption + " " + suffix;
        if (dropoutRate > 0 && random.nextDouble() < dropoutRate) return "";
        int newline = caption.indexOf('\n');
        String text = newline < 0 ? caption : caption.substring(0, newline);
        if (!shuffle && tagDropoutRate <= 0) return secondary(text);

        List<String> fixed, flex, fixedSuffix = List.of();
        int sep = keepTokensSeparator.isEmpty() ? -1 : text.indexOf(keepTokensSeparator);
        if (sep >= 0) {
            fixed = splitTags(text.substring(0, sep));
            String rest = text.substring(sep + keepTokensSeparator.length());
            int second = rest.indexOf(keepTokensSeparator);
            if (second >= 0) {
                fixedSuffix = splitTags(rest.substring(second + keepTokensSeparator.length()));
                rest = rest.substring(0, second);
            }
            flex = new ArrayList<>(splitTags(rest));
        } else {
            List<String> tags = splitTags(text);
            int keep = Math.min(keepTokens, tags.size());
            fixed = tags.subList(0, keep);
            flex = new ArrayList<>(tags.subList(keep, tags.size()));
        }
        List<String> out = new ArrayList<>(fixed);
        if (shuffle) random.shuffle(flex);
        for (String tag : flex) {
            if (tagDropoutRate <= 0 || random.nextDouble() >= tagDropoutRate) out.add(tag);
        }
        out.addAll(fixedSuffix);
        return secondary(String.join(", ", out));
    }

    /** kohya's secondary_separator: tags joined by it were one tag for shuffling; now it becomes a comma. */
    private String secondary(String text) {
        return secondarySeparator.isEmpty() ? text : text.replace(secondarySeparator, ",");
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
