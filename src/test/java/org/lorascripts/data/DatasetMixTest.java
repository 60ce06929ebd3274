package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PrimitiveIterator;
import org.junit.jupiter.api.Test;
import org.lorascripts.config.MixStrategy;

/**
 * Mix orders against Hugging Face datasets' concatenate_datasets / interleave_datasets. The expected
 * orders were printed by {@code tools/mix_reference.py} (datasets 5.0.1): rows are "dataset:row".
 */
class DatasetMixTest {
    private static String rows(DatasetMix.Order o) {
        List<String> out = new ArrayList<>();
        for (int k = 0; k < o.size(); k++) out.add(o.source()[k] + ":" + o.row()[k]);
        return String.join(" ", out);
    }

    private static String mix(MixStrategy s, int... lengths) { return rows(DatasetMix.order(lengths, s, null, 0)); }

    @Test void concatAndRoundRobinMatchTheReference() {
        assertEquals("0:0 0:1 0:2 1:0 1:1 1:2 1:3 1:4", mix(MixStrategy.CONCAT, 3, 5));
        assertEquals("0:0 1:0 0:1 1:1 0:2 1:2", mix(MixStrategy.INTERLEAVE_UNDER, 3, 5));
        assertEquals("0:0 1:0 0:1 1:1 0:2 1:2 0:0 1:3 0:1 1:4", mix(MixStrategy.INTERLEAVE_OVER, 3, 5));
        assertEquals("0:0 0:1 0:2 0:3 1:0 1:1 2:0 2:1 2:2", mix(MixStrategy.CONCAT, 4, 2, 3));
        assertEquals("0:0 1:0 2:0 0:1 1:1 2:1", mix(MixStrategy.INTERLEAVE_UNDER, 4, 2, 3));
        assertEquals("0:0 1:0 2:0 0:1 1:1 2:1 0:2 1:0 2:2 0:3 1:1 2:0", mix(MixStrategy.INTERLEAVE_OVER, 4, 2, 3));
    }

    @Test void concatIgnoresProbabilitiesAndOneDatasetIsItself() {
        assertEquals("0:0 0:1 1:0", rows(DatasetMix.order(new int[] {2, 1}, MixStrategy.CONCAT, new double[] {0.5, 0.5}, 3)));
        assertEquals("0:0 0:1 0:2", rows(DatasetMix.order(new int[] {3}, MixStrategy.INTERLEAVE_OVER, new double[] {1}, 3)));
    }

    /** Replays the dataset draws numpy made for the reference, so the stopping rule is compared exactly. */
    private static String replay(boolean over, int[] lengths, int... draws) {
        PrimitiveIterator.OfInt it = Arrays.stream(draws).iterator();
        return rows(DatasetMix.interleave(lengths, over, it::nextInt));
    }

    @Test void theProbabilityRuleMatchesTheReferenceForTheSameDraws() {
        // lengths [3, 5], probabilities [0.7, 0.3], seed 0: numpy drew 0 0 0 0 1 1 0 1 0 1 1 ...
        int[] seed0 = {0, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1};
        assertEquals("0:0 0:1 0:2", replay(false, new int[] {3, 5}, seed0));
        assertEquals("0:0 0:1 0:2 0:0 1:0 1:1 0:1 1:2 0:2 1:3 1:4", replay(true, new int[] {3, 5}, seed0));
        // seed 42: 1 0 1 0 0 1 1 1
        int[] seed42 = {1, 0, 1, 0, 0, 1, 1, 1};
        assertEquals("1:0 0:0 1:1 0:1 0:2", replay(false, new int[] {3, 5}, seed42));
        assertEquals("1:0 0:0 1:1 0:1 0:2 1:2 1:3 1:4", replay(true, new int[] {3, 5}, seed42));
        // lengths [4, 2, 3], probabilities [0.5, 0.2, 0.3], seed 42
        int[] three = {2, 0, 2, 1, 0, 2, 2, 2, 0, 0, 0, 2, 1};
        assertEquals("2:0 0:0 2:1 1:0 0:1 2:2", replay(false, new int[] {4, 2, 3}, three));
        assertEquals("2:0 0:0 2:1 1:0 0:1 2:2 2:0 2:1 0:2 0:3 0:0 2:2 1:1", replay(true, new int[] {4, 2, 3}, three));
    }

    @Test void seededDrawsAreReproducibleAndFollowTheRule() {
        int[] lengths = {40, 100, 7};
        double[] p = {0.5, 0.3, 0.2};
        DatasetMix.Order under = DatasetMix.order(lengths, MixStrategy.INTERLEAVE_UNDER, p, 42);
        DatasetMix.Order over = DatasetMix.order(lengths, MixStrategy.INTERLEAVE_OVER, p, 42);
        assertEquals(rows(under), rows(DatasetMix.order(lengths, MixStrategy.INTERLEAVE_UNDER, p, 42)));
        assertNotEquals(rows(over), rows(DatasetMix.order(lengths, MixStrategy.INTERLEAVE_OVER, p, 43)));
        // the same draws: under stops where over goes on
        assertTrue(rows(over).startsWith(rows(under) + " "));

        // under: no dataset repeats, and the last row is the last row of the dataset that ran out
        int last = under.size() - 1;
        assertEquals(lengths[under.source()[last]] - 1, under.row()[last]);
        int[] c = under.countsPerSource(3);
        for (int d = 0; d < 3; d++) assertTrue(c[d] <= lengths[d], Arrays.toString(c));
        assertEquals(1, Arrays.stream(new int[] {0, 1, 2}).filter(d -> c[d] == lengths[d]).count(), Arrays.toString(c));

        // over: every row of every dataset at least once, and the last row completes the last dataset to run out
        int[] co = over.countsPerSource(3);
        for (int d = 0; d < 3; d++) assertTrue(co[d] >= lengths[d], Arrays.toString(co));
        int lastOver = over.size() - 1;
        int d = over.source()[lastOver];
        assertEquals(lengths[d] - 1, over.row()[lastOver]);
        assertEquals(lengths[d], co[d], "the last dataset to run out is used exactly once");
    }

    @Test void drawsFollowTheProbabilities() {
        DatasetMix.Order o = DatasetMix.order(new int[] {100_000, 100_000}, MixStrategy.INTERLEAVE_UNDER, new double[] {0.7, 0.3}, 1);
        int[] c = o.countsPerSource(2);
        assertEquals(100_000, c[0]);   // the likelier dataset runs out first
        assertEquals(0.3 / 0.7, (double) c[1] / c[0], 0.01);
        // a zero probability is never drawn (under), and refused by over, which could not end
        DatasetMix.Order zero = DatasetMix.order(new int[] {5, 5, 5}, MixStrategy.INTERLEAVE_UNDER, new double[] {0.5, 0, 0.5}, 1);
        assertEquals(0, zero.countsPerSource(3)[1]);
        assertThrows(IllegalArgumentException.class,
                () -> DatasetMix.order(new int[] {5, 5}, MixStrategy.INTERLEAVE_OVER, new double[] {1, 0}, 1));
        assertFalse(DatasetMix.order(new int[] {5, 5}, MixStrategy.INTERLEAVE_OVER, new double[] {0.99, 0.01}, 1).size() < 10);
    }
}
