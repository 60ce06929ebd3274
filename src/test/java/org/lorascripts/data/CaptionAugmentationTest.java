package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** kohya's process_caption: shuffle_caption, keep_tokens, caption_dropout_rate, caption_tag_dropout_rate. */
class CaptionAugmentationTest {
    private static final String CAPTION = "sks, 1girl, solo, red hair, smile, outdoors, looking at viewer";

    private static ExampleRandom rnd(int epoch, int index) {
        return ExampleRandom.of(42, epoch, index, ExampleRandom.Purpose.CAPTION);
    }

    @Test
    void shuffleKeepsTheFirstTagsAndEveryTag() {
        CaptionProcessor p = new CaptionProcessor(true, 2, 0, 0);
        List<String> original = CaptionProcessor.splitTags(CAPTION);
        Set<String> orders = new HashSet<>();
        for (int epoch = 0; epoch < 50; epoch++) {
            String out = p.process(CAPTION, rnd(epoch, 3));
            List<String> tags = CaptionProcessor.splitTags(out);
            assertEquals(original.subList(0, 2), tags.subList(0, 2), out);
            assertEquals(new HashSet<>(original), new HashSet<>(tags), out);
            assertEquals(original.size(), tags.size(), out);
            assertTrue(out.contains(", ") && !out.contains(",,"), out);
            orders.add(out);
        }
        assertTrue(orders.size() > 20, "5 shuffled tags have 120 orders; 50 epochs gave only " + orders.size());
    }

    @Test
    void sameSeedEpochAndIndexGiveTheSameCaption() {
        CaptionProcessor p = new CaptionProcessor(true, 1, 0.3, 0.2);
        for (int i = 0; i < 20; i++) assertEquals(p.process(CAPTION, rnd(4, i)), p.process(CAPTION, rnd(4, i)));
        int differ = 0;
        for (int i = 0; i < 20; i++) if (!p.process(CAPTION, rnd(4, i)).equals(p.process(CAPTION, rnd(5, i)))) differ++;
        assertTrue(differ > 10, "captions should change between epochs, changed " + differ + " of 20");
    }

    @Test
    void dropoutRateIsTheShareOfEmptyCaptions() {
        for (double rate : new double[] {0.1, 0.5}) {
            CaptionProcessor p = new CaptionProcessor(false, 0, rate, 0);
            int n = 20_000;
            int empty = 0;
            for (int i = 0; i < n; i++) if (p.process(CAPTION, rnd(0, i)).isEmpty()) empty++;
            double sigma = Math.sqrt(rate * (1 - rate) / n);
            assertEquals(rate, (double) empty / n, 5 * sigma, "dropout " + rate);
        }
    }

    @Test
    void tagDropoutDropsTagsButNeverKeptOnes() {
        CaptionProcessor p = new CaptionProcessor(false, 1, 0, 0.25);
        int n = 4000;
        int tags = 0;
        for (int i = 0; i < n; i++) {
            List<String> out = CaptionProcessor.splitTags(p.process(CAPTION, rnd(0, i)));
            assertEquals("sks", out.getFirst());
            tags += out.size() - 1;
        }
        double keptShare = tags / (6.0 * n);   // 6 droppable tags per caption
        assertEquals(0.75, keptShare, 5 * Math.sqrt(0.25 * 0.75 / (6.0 * n)));
    }

    @Test
    void withoutShuffleOrDropoutOnlyTheFirstLineIsUsed() {
        assertEquals("a photo of sks", CaptionProcessor.NONE.process("a photo of sks\nsecond line", rnd(0, 0)));
        assertEquals(" spaced ,, as  written ", CaptionProcessor.NONE.process(" spaced ,, as  written ", rnd(0, 0)));
        assertNotEquals("", new CaptionProcessor(false, 0, 0.0, 0).process(CAPTION, rnd(0, 0)));
    }

    @Test
    void tagFrequencyJsonCountsLowerCasedTagsPerFolder() {
        TagFrequency f = new TagFrequency()
                .add("10_sks", List.of("sks, 1girl, Smile", "sks, smile ,solo", "", "SKS,,"))
                .add("reg", List.of("1girl"));
        assertEquals(3, f.count("10_sks", "sks"));
        assertEquals(2, f.count("10_sks", "smile"));
        assertEquals(0, f.count("reg", "sks"));
        assertEquals("{\"10_sks\":{\"sks\":3,\"1girl\":1,\"smile\":2,\"solo\":1},\"reg\":{\"1girl\":1}}", f.toJson());
    }
}
