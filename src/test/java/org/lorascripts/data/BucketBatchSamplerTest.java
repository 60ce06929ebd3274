package org.lorascripts.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BucketBatchSamplerTest {
    /** 103 examples spread unevenly over 5 buckets (one bucket of a single example). */
    private static int[] buckets() {
        Random r = new Random(7);
        int[] b = new int[103];
        for (int i = 0; i < b.length; i++) b[i] = r.nextInt(4) * 10;
        b[50] = 99;
        return b;
    }

    @Test
    void batchesStayInOneBucketAndCoverEveryIndexOncePerEpoch() {
        int[] bucketOf = buckets();
        BucketBatchSampler s = new BucketBatchSampler(bucketOf, 4, 1234);
        int expectedBatches = 0;
        for (int id : new int[] {0, 10, 20, 30, 99}) {
            long n = Arrays.stream(bucketOf).filter(x -> x == id).count();
            expectedBatches += (int) ((n + 3) / 4);   // the last partial batch of each bucket is kept
        }
        assertEquals(expectedBatches, s.batchesPerEpoch());
        for (int epoch = 0; epoch < 3; epoch++) {
            List<int[]> batches = s.batches(epoch);
            assertEquals(expectedBatches, batches.size());
            int[] seen = new int[bucketOf.length];
            for (int[] batch : batches) {
                assertTrue(batch.length >= 1 && batch.length <= 4);
                for (int i : batch) {
                    seen[i]++;
                    assertEquals(bucketOf[batch[0]], bucketOf[i], "batch mixes buckets: " + Arrays.toString(batch));
                }
            }
            for (int i = 0; i < seen.length; i++) assertEquals(1, seen[i], "index " + i + " in epoch " + epoch);
        }
    }

    @Test
    void orderIsAFunctionOfSeedAndEpoch() {
        int[] bucketOf = buckets();
        List<int[]> a = new BucketBatchSampler(bucketOf, 4, 1234).batches(5);
        List<int[]> b = new BucketBatchSampler(bucketOf, 4, 1234).batches(5);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i));

        assertFalse(sameOrder(a, new BucketBatchSampler(bucketOf, 4, 1234).batches(6)), "epochs must differ");
        assertFalse(sameOrder(a, new BucketBatchSampler(bucketOf, 4, 1235).batches(5)), "seeds must differ");
    }

    private static boolean sameOrder(List<int[]> x, List<int[]> y) {
        if (x.size() != y.size()) return false;
        for (int i = 0; i < x.size(); i++) if (!Arrays.equals(x.get(i), y.get(i))) return false;
        return true;
    }

    @Test
    void exampleRandomIsUniformAndIndependentPerPurpose() {
        int[] counts = new int[6];
        for (int i = 0; i < 60_000; i++) counts[ExampleRandom.of(3, 1, i, ExampleRandom.Purpose.CROP).nextInt(6)]++;
        for (int c : counts) assertEquals(10_000, c, 400, Arrays.toString(counts));   // ~4.4 sigma
        long crop = ExampleRandom.of(3, 1, 8, ExampleRandom.Purpose.CROP).nextLong();
        assertEquals(crop, ExampleRandom.of(3, 1, 8, ExampleRandom.Purpose.CROP).nextLong());
        assertTrue(crop != ExampleRandom.of(3, 1, 8, ExampleRandom.Purpose.FLIP).nextLong());
        assertTrue(crop != ExampleRandom.of(3, 2, 8, ExampleRandom.Purpose.CROP).nextLong());
        assertTrue(crop != ExampleRandom.of(3, 1, 9, ExampleRandom.Purpose.CROP).nextLong());
    }
}
