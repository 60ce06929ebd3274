package org.lorascripts.data;

import java.util.List;

/**
 * The random numbers of one example in one epoch for one purpose (crop offset, flip, caption
 * shuffle and dropout, batch order). kohya draws these from Python's global {@code random}, so they
 * depend on everything drawn before; here each stream is a SplitMix64 generator seeded by hashing
 * (seed, epoch, example index, purpose). That makes an augmentation a pure function of those four:
 * a run resumed at epoch k sees the same crops and captions as an uninterrupted one, the order of
 * loading (threads, skipped batches) does not matter, and turning flip_aug on leaves the crops and
 * captions of every example unchanged.
 */
public final class ExampleRandom {
    /** What the numbers are for; each purpose is an independent stream. */
    public enum Purpose {
        BATCH_ORDER(0x5A3C_91E7L), CROP(0x1B87_3593L), FLIP(0xCC9E_2D51L), CAPTION(0x85EB_CA6BL);

        final long salt;

        Purpose(long salt) {
            this.salt = salt;
        }
    }

    private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private long state;

    private ExampleRandom(long state) {
        this.state = state;
    }

    public static ExampleRandom of(long seed, int epoch, long index, Purpose purpose) {
        long h = mix(seed + GOLDEN_GAMMA);
        h = mix(h ^ (epoch * GOLDEN_GAMMA + purpose.salt));
        h = mix(h ^ (index * 0xD1B54A32D192ED03L));
        return new ExampleRandom(h);
    }

    /** SplitMix64's output function (Steele, Lea and Flood 2014; the finaliser of Java's SplittableRandom). */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public long nextLong() {
        state += GOLDEN_GAMMA;
        return mix(state);
    }

    /** Uniform in [0, 1), like Python's {@code random.random()}. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, bound); bound > 0. Rejection keeps it exactly uniform (as SplittableRandom does). */
    public int nextInt(int bound) {
        if (bound <= 0) throw new IllegalArgumentException("bound must be positive, got " + bound);
        long r;
        long m;
        do {
            r = nextLong() >>> 1;
            m = r % bound;
        } while (r - m + (bound - 1) < 0);   // r fell in the last, incomplete run of bound values
        return (int) m;
    }

    /** True with probability p. */
    public boolean chance(double p) {
        return nextDouble() < p;
    }

    /** Fisher-Yates, in place. */
    public <T> void shuffle(List<T> list) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            T t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }

    public void shuffle(int[] a) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
