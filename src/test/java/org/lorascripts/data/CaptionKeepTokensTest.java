package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * keep_tokens and keep_tokens_separator as kohya's process_caption (library/train_util.py) applies them:
 * with the separator in the caption, the tags before it stay first, the tags after a second one stay last,
 * the ones between are shuffled / dropped, and keep_tokens is not used; without it in the caption,
 * keep_tokens counts tags; with neither shuffle nor tag dropout the caption trains as written.
 */
class CaptionKeepTokensTest {
    private static ExampleRandom rnd(int epoch) {
        return ExampleRandom.of(7, epoch, 0, ExampleRandom.Purpose.CAPTION);
    }

    @Test
    void theSeparatorFixesTheTagsBeforeItAndAfterASecondOne() {
        CaptionProcessor p = new CaptionProcessor(true, 5, 0, 0, "|||");
        String caption = "sks, 1girl ||| red hair, smile, outdoors, hat ||| masterpiece, best quality";
        Set<String> middles = new HashSet<>();
        for (int epoch = 0; epoch < 40; epoch++) {
            List<String> tags = CaptionProcessor.splitTags(p.process(caption, rnd(epoch)));
            assertEquals(List.of("sks", "1girl"), tags.subList(0, 2), tags.toString());              // not keep_tokens = 5
            assertEquals(List.of("masterpiece", "best quality"), tags.subList(6, 8), tags.toString());
            List<String> middle = tags.subList(2, 6);
            assertEquals(Set.of("red hair", "smile", "outdoors", "hat"), new HashSet<>(middle));
            middles.add(middle.toString());
        }
        assertTrue(middles.size() > 5, middles.toString());
    }

    @Test
    void oneSeparatorFixesOnlyThePrefixAndTagDropoutSparesTheFixedTags() {
        CaptionProcessor p = new CaptionProcessor(false, 0, 0, 0.999, "|||");
        assertEquals("sks, 1girl", p.process("sks, 1girl ||| red hair, smile", rnd(0)));
        CaptionProcessor shuffle = new CaptionProcessor(true, 0, 0, 0, "|||");
        assertEquals(Set.of("a", "b", "c"), new HashSet<>(CaptionProcessor.splitTags(shuffle.process("a ||| b, c", rnd(1)))));
        assertTrue(shuffle.process("a ||| b, c", rnd(1)).startsWith("a, "));
    }

    @Test
    void withoutTheSeparatorInTheCaptionKeepTokensCounts() {
        CaptionProcessor p = new CaptionProcessor(true, 2, 0, 0, "|||");
        for (int epoch = 0; epoch < 10; epoch++) {
            assertTrue(p.process("sks, style, a, b, c", rnd(epoch)).startsWith("sks, style, "));
        }
    }

    @Test
    void withoutShuffleOrTagDropoutTheCaptionTrainsAsWrittenSeparatorIncluded() {
        // kohya only splits the caption when shuffle_caption, caption_tag_dropout_rate or token warmup is on
        CaptionProcessor p = new CaptionProcessor(false, 1, 0, 0, "|||");
        assertEquals("sks, 1girl ||| red hair", p.process("sks, 1girl ||| red hair\nsecond line", rnd(0)));
    }

    /** kohya's docs/config_README example of caption_prefix, caption_suffix, keep_tokens_separator and secondary_separator. */
    @Test
    void prefixSuffixAndSecondarySeparatorAsKohyasExample() {
        CaptionProcessor p = new CaptionProcessor(true, 0, 0, 0, "|||", "1girl, hatsune miku, vocaloid |||",
                ", anime screencap ||| masterpiece, rating: general", ";;;");
        String caption = "upper body, looking at viewer, sky;;;cloud;;;day, outdoors";
        Set<String> orders = new HashSet<>();
        for (int epoch = 0; epoch < 30; epoch++) {
            String out = p.process(caption, rnd(epoch));
            assertTrue(out.startsWith("1girl, hatsune miku, vocaloid, "), out);
            assertTrue(out.endsWith(", masterpiece, rating: general"), out);
            assertTrue(out.contains("sky,cloud,day"), out);                 // one tag while shuffling, then commas
            String middle = out.substring("1girl, hatsune miku, vocaloid, ".length(), out.length() - ", masterpiece, rating: general".length());
            assertEquals(Set.of("upper body", "looking at viewer", "sky,cloud,day", "outdoors", "anime screencap"),
                    new HashSet<>(List.of(middle.split(", "))), out);
            orders.add(middle);
        }
        assertTrue(orders.size() > 5, orders.toString());
        // without shuffle the text trains as written, with the secondary separator as a comma
        assertEquals("pre a, b;c suf".replace(";", ","), new CaptionProcessor(false, 0, 0, 0, "", "pre", "suf", ";").process("a, b;c", rnd(0)));
    }
}
