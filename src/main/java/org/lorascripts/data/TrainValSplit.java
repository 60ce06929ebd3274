package org.lorascripts.data;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Picks the validation examples for {@code val_ratio}: a shuffle by {@link Random} with the run's
 * seed (whose sequence the Java spec fixes, so the split is the same on every machine and
 * version), then the first round(n * ratio) indices, at least one.
 */
public final class TrainValSplit {
    private TrainValSplit() {}

    /** Sorted indices of the validation examples among {@code n}. */
    public static int[] valIndices(int n, double ratio, long seed) {
        List<Integer> order = new ArrayList<>(n);
        for (int i = 0; i < n; i++) order.add(i);
        Collections.shuffle(order, new Random(seed));
        int count = Math.max(1, (int) Math.round(n * ratio));
        if (count >= n) {
            throw new DatasetException("val_ratio " + ratio + " leaves no training examples out of " + n
                    + "; lower val_ratio or add examples");
        }
        return order.subList(0, count).stream().mapToInt(Integer::intValue).sorted().toArray();
    }
}
