package org.lorascripts.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntSupplier;
import org.lorascripts.config.MixStrategy;

/**
 * The order in which several datasets' rows make one training set, by the rules of Hugging Face
 * datasets' {@code concatenate_datasets} and {@code interleave_datasets} for map-style datasets (what
 * LLaMA-Factory's {@code mix_strategy} calls):
 * <ul>
 * <li>concat: every row of dataset 0, then of dataset 1, ...</li>
 * <li>interleave without probabilities: round-robin, row r of every dataset in turn (d0[0], d1[0], d0[1], ...);
 *     interleave_under stops after {@code min(lengths)} rounds, interleave_over runs {@code max(lengths)} rounds,
 *     a shorter dataset starting again from its first row (row r mod its length).</li>
 * <li>interleave with probabilities: draw a dataset by its probability, take its next row, and when that
 *     was its last row mark it exhausted and start it again at row 0; before each draw, stop if any dataset
 *     is exhausted (interleave_under) or every one is (interleave_over). So under stops right after the
 *     first dataset's last row, and over has used every row of every dataset at least once.</li>
 * </ul>
 * The draws come from a generator seeded with {@code seed} (so a run is reproducible); it is not numpy's,
 * so the exact order with probabilities differs from the Python library's while following the same rule.
 */
public final class DatasetMix {
    /** Refuse mixes past this many rows (a tiny probability with interleave_over can ask for billions). */
    static final int MAX_ROWS = 50_000_000;

    /** Row k of the mix is row {@code row[k]} of dataset {@code source[k]}. */
    public record Order(int[] source, int[] row) {
        public int size() { return source.length; }

        /** How many rows of the mix come from each of {@code datasets} datasets. */
        public int[] countsPerSource(int datasets) {
            int[] c = new int[datasets];
            for (int s : source) c[s]++;
            return c;
        }
    }

    private DatasetMix() {}

    /**
     * @param lengths the datasets' sizes (each at least 1)
     * @param probs   one probability per dataset summing to 1, or null for round-robin (ignored by concat)
     */
    public static Order order(int[] lengths, MixStrategy strategy, double[] probs, long seed) {
        int n = lengths.length;
        if (n == 0) throw new IllegalArgumentException("no datasets to mix");
        for (int l : lengths) if (l < 1) throw new IllegalArgumentException("cannot mix an empty dataset");
        if (probs != null && probs.length != n) {
            throw new IllegalArgumentException(probs.length + " probabilities for " + n + " datasets");
        }
        Rows out = new Rows();
        if (n == 1 || strategy == MixStrategy.CONCAT) {
            for (int d = 0; d < n; d++) for (int r = 0; r < lengths[d]; r++) out.add(d, r);
            return out.order();
        }
        boolean over = strategy == MixStrategy.INTERLEAVE_OVER;
        if (probs == null) {
            int rounds = over ? max(lengths) : min(lengths);
            checkSize((long) rounds * n);
            for (int r = 0; r < rounds; r++) for (int d = 0; d < n; d++) out.add(d, r % lengths[d]);
            return out.order();
        }
        double[] cdf = new double[n];
        double acc = 0;
        for (int d = 0; d < n; d++) {
            if (probs[d] < 0 || Double.isNaN(probs[d])) throw new IllegalArgumentException("negative probability " + probs[d]);
            acc += probs[d];
            cdf[d] = acc;
        }
        if (over) {
            for (int d = 0; d < n; d++) {
                if (probs[d] == 0) throw new IllegalArgumentException("dataset " + d + " has probability 0; interleave_over would never end");
            }
        }
        SplittableRandom rng = new SplittableRandom(seed);
        double total = acc;
        return interleave(lengths, over, () -> {
            double u = rng.nextDouble() * total;
            int d = 0;
            while (d < n - 1 && (u >= cdf[d] || probs[d] == 0)) d++;
            return d;
        });
    }

    /**
     * The probability rule with the datasets drawn by {@code draw}: before each draw stop when any
     * dataset (under) or every dataset (over) is exhausted; take the drawn dataset's next row; after its
     * last row mark it exhausted and start it again at row 0.
     */
    static Order interleave(int[] lengths, boolean over, IntSupplier draw) {
        int n = lengths.length;
        Rows out = new Rows();
        boolean[] exhausted = new boolean[n];
        int exhaustedCount = 0;
        int[] next = new int[n];
        while (over ? exhaustedCount < n : exhaustedCount == 0) {
            int d = draw.getAsInt();
            out.add(d, next[d]);
            checkSize(out.size);
            if (++next[d] >= lengths[d]) {
                if (!exhausted[d]) { exhausted[d] = true; exhaustedCount++; }
                next[d] = 0;
            }
        }
        return out.order();
    }

    private static void checkSize(long rows) {
        if (rows > MAX_ROWS) {
            throw new DatasetException("the mix would hold more than " + MAX_ROWS + " examples; raise the smallest"
                    + " interleave_probs or use interleave_under");
        }
    }

    private static int min(int[] a) { int m = Integer.MAX_VALUE; for (int x : a) m = Math.min(m, x); return m; }

    private static int max(int[] a) { int m = 0; for (int x : a) m = Math.max(m, x); return m; }

    private static final class Rows {
        int[] source = new int[16];
        int[] row = new int[16];
        int size;

        void add(int s, int r) {
            if (size == source.length) {
                source = java.util.Arrays.copyOf(source, size * 2);
                row = java.util.Arrays.copyOf(row, size * 2);
            }
            source[size] = s;
            row[size++] = r;
        }

        Order order() { return new Order(java.util.Arrays.copyOf(source, size), java.util.Arrays.copyOf(row, size)); }
    }

    /** Convenience for lists: the rows of {@code datasets} in the order of {@code o}. */
    public static <T> List<T> apply(Order o, List<? extends List<T>> datasets) {
        List<T> out = new ArrayList<>(o.size());
        for (int k = 0; k < o.size(); k++) out.add(datasets.get(o.source()[k]).get(o.row()[k]));
        return out;
    }
}
